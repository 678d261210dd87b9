"""The web dashboard: server-rendered pages at ``/`` and under ``/ui/``, on the API's server and
behind its HTTP Basic auth. Pages read through the service functions the API's operations call;
buttons are forms posting to actions that call the same functions, then redirect.

Not API operations: these routes are not in the operation table nor in specs/openapi.json."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from airpipe.api.dashboard import actions, pages
from airpipe.api.dashboard.web import HERE

GET, POST = ["GET"], ["POST"]


def routes() -> list[BaseRoute]:
    """The dashboard's routes, after the API's (whose plain paths the TableRouter finds first)."""
    return [
        Route("/", pages.connections_page, methods=GET, name="dashboard"),
        Route("/ui/workspaces", pages.workspaces_page, methods=GET),
        Route("/ui/connections/new", pages.connection_form_page, methods=GET),
        Route("/ui/connections/new", actions.create_connection_action, methods=POST),
        Route("/ui/connections/{connection_id}", pages.connection_page, methods=GET),
        Route("/ui/connections/{connection_id}/sync", actions.sync_action, methods=POST),
        Route("/ui/connections/{connection_id}/status", actions.status_action, methods=POST),
        Route("/ui/connections/{connection_id}/cancel", actions.cancel_sync_action, methods=POST),
        Route("/ui/jobs/{job_id}", pages.job_page, methods=GET),
        Route("/ui/jobs/{job_id}/cancel", actions.cancel_action, methods=POST),
        Mount("/ui/static", StaticFiles(directory=HERE / "static"), name="static"),
        Route("/ui/{kind}", pages.actors_page, methods=GET),
        Route("/ui/{kind}/new", pages.actor_form_page, methods=GET),
        Route("/ui/{kind}/new", actions.create_actor_action, methods=POST),
        Route("/ui/{kind}/{actor_id}/check", actions.check_action, methods=POST),
        Route("/ui/{rest:path}", pages.not_found_page, methods=["GET", "POST"]),
    ]
