"""The dashboard over plain HTTP, as a browser with JavaScript off uses it: pages render from the
services, forms post and redirect (Post/Redirect/Get), errors are readable pages with their status."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from airpipe import models
from airpipe.connectors import registry

WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
FAKER_ID = str(registry.FAKER.id)
LOCAL_JSON_ID = str(registry.LOCAL_JSON.id)
SAME_ORIGIN = {"Origin": "http://testserver"}


def post(ui: TestClient, path: str, data: dict[str, str], status: int = 303) -> Any:
    response = ui.post(path, data=data, headers=SAME_ORIGIN, follow_redirects=False)
    assert response.status_code == status, response.text
    return response


def create_source(ui: TestClient, name: str = "fake shop", count: str = "20") -> str:
    form = {"workspace": WORKSPACE_ID, "definition": FAKER_ID, "name": name, "config.count": count, "config.seed": "1"}
    response = post(ui, "/ui/sources/new", form)
    assert response.headers["location"].startswith("/ui/sources?")
    return _id_of(ui, "sources", name)


def create_destination(ui: TestClient, name: str = "files") -> str:
    form = {"workspace": WORKSPACE_ID, "definition": LOCAL_JSON_ID, "name": name, "config.destination_path": "/local/shop"}
    post(ui, "/ui/destinations/new", form)
    return _id_of(ui, "destinations", name)


def create_connection(ui: TestClient, name: str = "shop to files") -> str:
    source, destination = create_source(ui), create_destination(ui)
    form = {"workspace": WORKSPACE_ID, "name": name, "source": source, "destination": destination, "schedule": "manual"}
    form["enabled"] = "true"
    response = post(ui, "/ui/connections/new", form)
    match = re.fullmatch(r"/ui/connections/([0-9a-f-]{36})\?flash=.*", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


def _id_of(ui: TestClient, kind: str, name: str) -> str:
    page = ui.get(f"/ui/{kind}").text
    match = re.search(r'<tr data-id="([0-9a-f-]{36})">\s*<td>' + re.escape(name) + "<", page)
    assert match, page
    return match.group(1)


# PAGES


def test_the_home_page_lists_connections_without_javascript(ui: TestClient) -> None:
    connection_id = create_connection(ui)
    response = ui.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f'href="/ui/connections/{connection_id}">shop to files</a>' in response.text
    assert "fake shop → files" in response.text
    assert "manual" in response.text
    assert "<script" not in response.text  # the list needs none


def test_a_connection_page_shows_its_streams_and_buttons(ui: TestClient) -> None:
    connection_id = create_connection(ui)
    page = ui.get(f"/ui/connections/{connection_id}").text
    for stream in ("users", "products", "purchases"):  # Faker's discovered catalog
        assert f"<td>{stream}</td>" in page
    assert f'action="/ui/connections/{connection_id}/sync"' in page
    assert 'id="disable"' in page
    assert "No syncs yet." in page


def test_sync_from_the_page_runs_a_job_whose_page_shows_its_stats_and_logs(ui: TestClient) -> None:
    connection_id = create_connection(ui)
    response = post(ui, f"/ui/connections/{connection_id}/sync", {})
    job_path = response.headers["location"].split("?")[0]
    assert re.fullmatch(r"/ui/jobs/\d+", job_path)
    page = ui.get(job_path).text  # jobs run inline here: it has ended
    assert 'data-status="succeeded"' in page
    assert re.search(r'<td class="records" data-attempt="1">42 / ~42</td>', page)  # 20 users and purchases, 2 products
    assert "users: 20 records" in page
    assert re.search(r'<span class="log log-info">[^<]*INFO \[1\] ', page)
    assert 'http-equiv="refresh"' not in page and "job.js" not in page  # nothing left to follow
    assert f'<a href="/ui/connections/{connection_id}">shop to files</a>' in page
    history = ui.get(f"/ui/connections/{connection_id}").text
    assert f'href="{job_path}"' in history
    assert ui.get("/").text.count("status-succeeded") >= 1


def test_a_running_job_page_follows_it_with_or_without_javascript(ui: TestClient, client: TestClient) -> None:
    connection_id = create_connection(ui)
    with models.db.connection_context():
        job = models.Job.create(config_type="sync", scope=connection_id, status="running", config={})
        models.Attempt.create(job=job, number=1, status="running")
    page = ui.get(f"/ui/jobs/{job.id}").text
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert '<script src="/ui/static/job.js"></script>' in page
    assert 'id="cancel"' in page
    assert f'action="/ui/jobs/{job.id}/cancel"' in ui.get(f"/ui/connections/{connection_id}").text


def test_cancel_from_the_page(ui: TestClient) -> None:
    connection_id = create_connection(ui)
    with models.db.connection_context():
        job = models.Job.create(config_type="sync", scope=connection_id, status="pending", config={})
    response = post(ui, f"/ui/jobs/{job.id}/cancel", {})
    assert response.headers["location"].startswith(f"/ui/jobs/{job.id}?flash=")
    page = ui.get(response.headers["location"]).text
    assert 'data-status="cancelled"' in page
    assert f"Job {job.id} is cancelled" in page


def test_disable_and_enable(ui: TestClient) -> None:
    connection_id = create_connection(ui)
    response = post(ui, f"/ui/connections/{connection_id}/status", {"status": "inactive"})
    page = ui.get(response.headers["location"]).text
    assert "Connection &#39;shop to files&#39; disabled" in page and 'id="enable"' in page
    assert "status-inactive" in page
    post(ui, f"/ui/connections/{connection_id}/status", {"status": "active"})
    assert 'id="disable"' in ui.get(f"/ui/connections/{connection_id}").text


def test_the_list_cancels_a_running_sync_and_disables_and_enables(ui: TestClient) -> None:
    connection_id = create_connection(ui)
    with models.db.connection_context():
        job = models.Job.create(config_type="sync", scope=connection_id, status="running", config={})
        models.Attempt.create(job=job, number=1, status="running")
    listing = ui.get("/").text
    assert f'action="/ui/connections/{connection_id}/cancel"' in listing
    assert f'action="/ui/connections/{connection_id}/sync"' not in listing  # a sync runs: Cancel instead
    response = post(ui, f"/ui/connections/{connection_id}/cancel", {"next": f"/?workspace={WORKSPACE_ID}"})
    assert response.headers["location"].startswith(f"/?workspace={WORKSPACE_ID}&flash=")
    assert f"Job {job.id} cancelled" in ui.get(response.headers["location"]).text
    assert 'data-status="cancelled"' in ui.get(f"/ui/jobs/{job.id}").text
    response = post(ui, f"/ui/connections/{connection_id}/cancel", {})
    assert "No job of this connection is running" in ui.get(response.headers["location"]).text
    response = post(ui, f"/ui/connections/{connection_id}/status", {"status": "inactive", "next": "/"})
    assert response.headers["location"].startswith("/?flash=")
    assert ">Enable</button>" in ui.get("/").text
    response = post(ui, f"/ui/connections/{connection_id}/status", {"status": "active", "next": "//evil.example/"})
    assert response.headers["location"].startswith(f"/ui/connections/{connection_id}?")  # only this site's pages
    assert ">Disable</button>" in ui.get("/").text


def test_sources_show_masked_configs_and_a_check_button(ui: TestClient) -> None:
    form = {
        "workspace": WORKSPACE_ID,
        "definition": str(registry.POSTGRES_SOURCE.id),
        "name": "warehouse",
        "config.host": "db.internal",
        "config.database": "shop",
        "config.username": "ada",
        "config.password": "hunter2-secret",
    }
    spec_form = ui.get(f"/ui/sources/new?definition={registry.POSTGRES_SOURCE.id}").text
    assert '<input type="password" id="config.password" name="config.password"' in spec_form
    assert '<input type="text" id="config.host" name="config.host" value="" required>' in spec_form
    assert '<select id="config.ssl_mode" name="config.ssl_mode">' in spec_form
    assert 'name="config.port" value="5432"' in spec_form  # the spec's default
    assert 'placeholder="JSON">[&#34;public&#34;]</textarea>' in spec_form  # an array: JSON
    assert 'value="5432" placeholder="5432">' in spec_form
    post(ui, "/ui/sources/new", form)
    page = ui.get("/ui/sources").text
    assert "hunter2-secret" not in page
    assert "&#34;password&#34;: &#34;**********&#34;" in page
    assert "&#34;host&#34;: &#34;db.internal&#34;" in page
    faker = create_source(ui)
    response = post(ui, f"/ui/sources/{faker}/check", {"workspace": WORKSPACE_ID})
    assert "Check+succeeded" in response.headers["location"]
    assert "Check succeeded" in ui.get(response.headers["location"]).text


def test_a_destination_check_that_fails_says_why(ui: TestClient) -> None:
    destination = create_destination(ui)
    response = post(ui, f"/ui/destinations/{destination}/check", {"workspace": WORKSPACE_ID})
    page = ui.get(response.headers["location"]).text
    assert re.search(r'<p class="flash (ok|error)" role="status">Check (succeeded|failed)', page)


# FORM ERRORS


@pytest.mark.parametrize(
    ("count", "reason"),
    [("-5", "-5 is less than the minimum of 0"), ("many", "&#39;many&#39; is not of type &#39;integer&#39;")],
)
def test_an_invalid_config_shows_the_field_and_the_reason(ui: TestClient, count: str, reason: str) -> None:
    form = {"workspace": WORKSPACE_ID, "definition": FAKER_ID, "name": "bad", "config.count": count}
    response = post(ui, "/ui/sources/new", form, status=422)
    page = response.text
    field = re.search(r'<div class="field invalid" data-field="count">.*?</div>', page, re.S)
    assert field, page
    assert f'<p class="field-error">{reason}</p>' in field.group(0)
    assert f'value="{count}"' in field.group(0)  # what was typed is kept
    assert 'value="bad"' in page
    assert "bad" not in ui.get("/ui/sources").text


def test_a_missing_required_property_is_shown_on_its_field(ui: TestClient) -> None:
    form = {"workspace": WORKSPACE_ID, "definition": LOCAL_JSON_ID, "name": "nowhere", "config.destination_path": ""}
    page = post(ui, "/ui/destinations/new", form, status=422).text
    field = re.search(r'<div class="field invalid" data-field="destination_path">.*?</div>', page, re.S)
    assert field and '<p class="field-error">is required</p>' in field.group(0)


def test_a_refused_connection_form_names_the_field(ui: TestClient) -> None:
    source, destination = create_source(ui), create_destination(ui)
    form = {"workspace": WORKSPACE_ID, "source": source, "destination": destination, "schedule": "cron", "cron": "not a cron"}
    page = post(ui, "/ui/connections/new", form, status=422).text
    assert '<div class="flash error" id="form-errors">' in page
    assert "<code>$.scheduleData.cron" in page


def test_an_empty_name_is_refused_by_the_api_decoder(ui: TestClient) -> None:
    form = {"workspace": WORKSPACE_ID, "definition": FAKER_ID, "config.count": "1", "name": "x" * 300}
    page = post(ui, "/ui/sources/new", form, status=422).text
    assert "<code>$.name</code>" in page


# ERRORS AS PAGES


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (f"/ui/connections/{uuid.UUID(int=1)}", f"Could not find connection with id {uuid.UUID(int=1)}"),
        ("/ui/connections/not-an-id", "Could not find connection with id not-an-id"),
        ("/ui/jobs/123456", "Could not find job with id 123456"),
        ("/ui/jobs/x", "Could not find job with id x"),
        ("/ui/nothing/here", "No page at /ui/nothing/here"),
        (f"/?workspace={uuid.UUID(int=2)}", f"Could not find workspace with id {uuid.UUID(int=2)}"),
    ],
)
def test_unknown_ids_are_a_404_page(ui: TestClient, path: str, message: str) -> None:
    response = ui.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert f'<p class="flash error" id="error-message">{message}</p>' in response.text


def test_actions_on_unknown_ids_are_a_404_page(ui: TestClient) -> None:
    response = post(ui, f"/ui/connections/{uuid.UUID(int=1)}/sync", {}, status=404)
    assert "Could not find connection" in response.text
    assert post(ui, "/ui/jobs/99999/cancel", {}, status=404).headers["content-type"].startswith("text/html")


def test_a_form_from_another_site_is_refused(ui: TestClient) -> None:
    connection_id = create_connection(ui)
    for headers in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"}, {"Sec-Fetch-Site": "cross-site"}):
        response = ui.post(f"/ui/connections/{connection_id}/sync", headers=headers, follow_redirects=False)
        assert response.status_code == 403, headers
    assert "No syncs yet." in ui.get(f"/ui/connections/{connection_id}").text


#: what a reverse proxy (nginx's bare `proxy_pass http://127.0.0.1:8000`) passes on from a browser
#: that opened https://airpipe.example.com: the Host it connects to, the page's own Origin
PROXIED = {"Host": "127.0.0.1:8000", "Origin": "https://airpipe.example.com"}


def test_behind_a_proxy_that_rewrites_host_forms_are_refused_without_the_public_url(ui: TestClient) -> None:
    response = ui.post("/ui/jobs/1/cancel", headers=PROXIED, follow_redirects=False)
    assert response.status_code == 403 and "AIRPIPE_PUBLIC_URL" in response.text


@pytest.mark.public_url("https://Airpipe.example.com:443/")
def test_behind_a_proxy_forms_from_the_public_url_are_accepted_and_others_still_refused(ui: TestClient) -> None:
    connection_id = create_connection(ui)
    path = f"/ui/connections/{connection_id}/sync"
    assert ui.post(path, headers=PROXIED, follow_redirects=False).status_code == 303
    referred = {"Host": PROXIED["Host"], "Referer": f"https://airpipe.example.com/ui/connections/{connection_id}"}
    disabled = ui.post(f"/ui/connections/{connection_id}/status", data={"status": "inactive"}, headers=referred, follow_redirects=False)
    assert disabled.status_code == 303
    others = ("https://evil.example", "http://airpipe.example.com", "https://airpipe.example.com.evil.example", "https://airpipe.example.com:8443")
    for origin in (*others, "not a url"):
        response = ui.post(path, headers={"Host": PROXIED["Host"], "Origin": origin}, follow_redirects=False)
        assert response.status_code == 403, origin
    assert ui.post(path, headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False).status_code == 403


def test_a_public_url_that_is_no_http_url_stops_the_start(tmp_path: Any) -> None:
    from airpipe.errors import SettingsError
    from airpipe.settings import Settings

    for value in ("airpipe.example.com", "ftp://airpipe.example.com", "https://airpipe.example.com:99999"):
        with pytest.raises(SettingsError, match="AIRPIPE_PUBLIC_URL"):
            Settings.from_env({"AIRPIPE_DATA_DIR": str(tmp_path), "AIRPIPE_PUBLIC_URL": value})


def test_the_api_is_unchanged_beside_the_dashboard(ui: TestClient) -> None:
    assert ui.post("/api/v1/workspaces/list").json()["workspaces"][0]["workspaceId"] == WORKSPACE_ID
    response = ui.get("/api/v1/nothing")
    assert response.status_code == 404 and response.headers["content-type"] == "application/json"
    assert ui.get("/ui/static/dashboard.css").headers["content-type"].startswith("text/css")
    assert ui.get("/ui/static/job.js").status_code == 200


def test_an_api_keys_scopes_hold_in_the_dashboard(ui: TestClient) -> None:
    connection_id = create_connection(ui)
    keys = {}
    for name, scopes in (("viewer", ["read"]), ("team", [f"write:{WORKSPACE_ID}"])):
        keys[name] = {"X-Api-Key": ui.post("/api/v1/api_keys/create", json={"name": name, "scopes": scopes}).json()["key"]}
    assert ui.get("/", headers=keys["viewer"]).status_code == 200
    refused = ui.post(f"/ui/connections/{connection_id}/sync", headers=keys["viewer"], follow_redirects=False)
    assert refused.status_code == 403 and "it needs the write scope" in refused.text
    assert ui.get("/", headers=keys["team"]).status_code == 403  # a key limited to a workspace: the API only
    assert "No syncs yet." in ui.get(f"/ui/connections/{connection_id}").text
