"""What every dashboard page and form action shares: the templates, the service call, the one place
errors become an HTML page, form bodies, redirects with a message."""

from __future__ import annotations

import datetime
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from airpipe import principal
from airpipe.api.decoding import decode_body
from airpipe.api.routing import run_service
from airpipe.errors import OUTAGES, AirpipeError, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from airpipe.schemas.workspaces import WorkspaceRead
from airpipe.services import access, workspaces
from airpipe.settings import url_origin

if TYPE_CHECKING:
    import jinja2

logger = logging.getLogger("airpipe.api")

HERE = Path(__file__).parent
#: a form body larger than this is refused (the largest form, a connector config, is a few kB)
MAX_FORM_BYTES = 256 * 1024

Page = Callable[[Request], Awaitable[Response]]


def _when(epoch: int | None) -> str:
    if epoch is None:
        return "-"
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _size(count: float | None) -> str:
    if count is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"


def text(value: Any) -> str:
    """An enum's value, anything else as text: reads built by the services may hold either."""
    return str(getattr(value, "value", value))


def _json(value: Any) -> str:
    return msgspec.json.format(msgspec.json.encode(value), indent=2).decode()


@functools.cache
def templates() -> jinja2.Environment:
    """The pages' templates, loaded at the first page: Jinja2's import is a tenth of the server's
    start, for a dashboard many servers never show."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(when=_when, duration=_duration, size=_size, value=text, json=_json)
    return environment


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    flash = request.query_params.get("flash")
    level = "error" if request.query_params.get("level") == "error" else "ok"
    context.setdefault("workspace", None)  # the page's workspace, for the menu's links
    context.setdefault("workspaces", [])
    body = templates().get_template(template).render(request=request, flash=flash, flash_level=level, **context)
    return HTMLResponse(body, status_code=status_code)


async def call(service: Callable[..., Any], payload: Any = None) -> Any:
    """A service function with its request Struct, exactly as the operation table calls it."""
    return await run_service(service, payload)


def build(request_type: type, raw: dict[str, Any]) -> Any:
    """``raw`` as the request Struct, through the API's own decoder: the same checks and the same
    messages (InvalidInput naming each field) as a JSON body would get."""
    return decode_body(msgspec.json.encode(raw), request_type)


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form body (the last value of a repeated name wins: a hidden "false" before a
    checkbox), read without python-multipart."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PayloadTooLarge(f"the form is larger than {MAX_FORM_BYTES} bytes")
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def redirect(path: str, flash: str | None = None, *, error: bool = False, **query: str) -> RedirectResponse:
    """Post/Redirect/Get: a form action answers 303 to the page that shows its outcome."""
    params = {k: v for k, v in query.items() if v}
    if flash:
        params["flash"] = flash
        if error:
            params["level"] = "error"
    separator = "&" if "?" in path else "?"
    return RedirectResponse(path + (separator + urlencode(params) if params else ""), status_code=303)


REFUSED_CROSS_SITE = (
    "This form was sent from another site: refused. (Behind a reverse proxy that rewrites the Host"
    " header, set AIRPIPE_PUBLIC_URL to the address the dashboard is opened at.)"
)


def same_origin(request: Request) -> bool:
    """A form action comes from a dashboard page: a browser sends HTTP Basic credentials to any
    site that posts here, so a cross-site form (Origin or Referer of another host) is refused.

    Behind a reverse proxy that rewrites Host the page's origin is not the Host this process sees;
    AIRPIPE_PUBLIC_URL names it (``app.state.public_origin``). X-Forwarded-Host is not read: the
    proxies that rewrite Host (nginx's bare ``proxy_pass``) do not send it either."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    if urlsplit(origin).netloc == request.headers.get("host", ""):
        return True
    public: str | None = getattr(request.app.state, "public_origin", None)
    try:
        return public is not None and url_origin(origin) == public
    except ValueError:  # not a URL at all
        return False


def page(view: Page) -> Page:
    """The dashboard's one error mapping: a service error is a readable page with its status code;
    anything else is logged and answered 500 without a traceback."""

    @functools.wraps(view)
    async def wrapped(request: Request) -> Response:
        try:
            if request.method == "POST" and not same_origin(request):
                return error_page(request, 403, REFUSED_CROSS_SITE)
            require_scope(request)
            return await view(request)
        except AirpipeError as exc:
            errors = exc.errors if isinstance(exc, InvalidInput) else []
            return error_page(request, exc.status_code, exc.message, errors=errors)
        except OUTAGES as exc:
            logger.warning("dashboard page %s failed: a service is unreachable (%s)", request.url.path, exc)
            return error_page(request, 503, "The database or the queue is unreachable; retry later.")
        except Exception:
            logger.exception("dashboard page %s failed", request.url.path)
            return error_page(request, 500, "Internal error (the server log has the details).")

    return wrapped


def require_scope(request: Request) -> None:
    """An API key's scopes hold here too: reading a page needs read, a form action write. The
    pages show every workspace, so a key limited to some may not use the dashboard (403)."""
    who = principal.current()
    if who.scopes is principal.EVERYTHING:
        return
    level = "write" if request.method == "POST" else "read"
    access.require_level(who, level)
    if who.workspaces_for(level) is not None:
        raise Forbidden(f"{who.name} may {level} only in some workspaces, and the dashboard shows them all: use the API")


def error_page(request: Request, status_code: int, message: str, errors: list[Any] | None = None) -> HTMLResponse:
    titles = {403: "Refused", 404: "Not found", 409: "Conflict", 422: "Invalid input", 503: "Unavailable"}
    title = titles.get(status_code, "Error")
    return render(request, "error.html", status_code, title=title, status=status_code, message=message, errors=errors or [])


def path_uuid(request: Request, name: str, resource: str) -> uuid.UUID:
    """A path parameter that must be an id: a malformed one is a 404 page, as an unknown one is."""
    raw = request.path_params[name]
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound(resource, raw) from None


def path_int(request: Request, name: str, resource: str) -> int:
    raw = request.path_params[name]
    if not raw.isdigit() or int(raw) > 2**63 - 1:
        raise NotFound(resource, raw)
    return int(raw)


async def workspace_of(request: Request, wanted: str | None = None) -> tuple[WorkspaceRead, list[WorkspaceRead]]:
    """The workspace a page shows (``wanted``, else ``?workspace=<id>``, else the first) and all of
    them, for the menu."""
    every = (await call(workspaces.list_workspaces, None)).workspaces
    wanted = wanted or request.query_params.get("workspace")
    for workspace in every:
        if str(workspace.workspace_id) == wanted:
            return workspace, every
    if wanted:
        raise NotFound("workspace", wanted)
    if not every:
        raise NotFound("workspace", "(none left: create one through the API)")
    return every[0], every
