"""The dashboard in a real browser: headless Chromium, driven by Selenium through
/usr/bin/chromedriver, against a real `airpipe serve` (embedded: SQLite and the in-process worker).

Create a source and a destination from their spec forms, a connection from its form, sync it and
watch its job page follow the job to its end, read its logs there; start a long sync and cancel
it from its page. Screenshots of the main pages go to tests/dashboard/artifacts/ (gitignored);
the README's is artifacts/connections.png, copied to airpipe/api/dashboard/static/screenshot-connections.png.

Skipped when Chromium, chromedriver or selenium is missing, except in CI
(AIRPIPE_TEST_REQUIRE_SERVICES=1), where that fails. `make install` installs them on Debian;
elsewhere AIRPIPE_TEST_CHROMIUM and AIRPIPE_TEST_CHROMEDRIVER name them.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from suitekit import AirpipeServer, missing, wait_until

pytestmark = pytest.mark.e2e

#: Debian's packages; elsewhere, say where they are
CHROMIUM = Path(os.environ.get("AIRPIPE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("AIRPIPE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
ARTIFACTS = Path(__file__).parent / "artifacts"
#: long enough that a sync of it is still running when the test cancels it (Faker makes ~10^5 a second)
LONG_COUNT = 50_000_000
FAKER = "Faker (airpipe/source-faker:0.1.0)"
LOCAL_JSON = "Local JSON (airpipe/destination-local-json:0.1.0)"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirpipeServer]:
    with AirpipeServer(tmp_path_factory.mktemp("dashboard")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            missing(f"{path} is not installed (Debian: apt-get install chromium chromium-driver; or `make install` as root)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium is not installed (pip install -e '.[test]')")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


def shoot(browser: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def find(browser: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, css)


def finds(browser: Any, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(browser.find_elements(By.CSS_SELECTOR, css))


def click(browser: Any, css: str, timeout: float = 60) -> None:
    """Click what loads a new page (a link, a form's button), and wait until it has loaded."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = find(browser, "html")
    find(browser, css).click()
    # mid-navigation chromedriver may answer "Node with given id does not belong to the document"
    WebDriverWait(browser, timeout, ignored_exceptions=(WebDriverException,)).until(expected_conditions.staleness_of(page))
    loaded = steady(lambda: browser.execute_script("return document.readyState") == "complete")
    wait_until(loaded, timeout, "the page to load")


def flash(browser: Any) -> str:
    found = finds(browser, "p.flash")
    return str(found[0].text) if found else ""


def fill(browser: Any, name: str, value: str) -> None:
    found = finds(browser, f'[name="{name}"]')
    assert found, f"no field {name} on {browser.current_url}: {find(browser, 'main').text}"
    field = found[0]
    field.clear()
    field.send_keys(value)


def create_actor(browser: Any, server: AirpipeServer, kind: str, connector: str, name: str, config: dict[str, str], shot: str = "") -> None:
    """From the Sources (or Destinations) page: New, choose the connector, fill its spec's form."""
    from selenium.webdriver.support.ui import Select

    browser.get(f"{server.url}/ui/{kind}")
    click(browser, "a.button")
    Select(find(browser, "#definition")).select_by_visible_text(connector)
    click(browser, "#choose")
    fill(browser, "name", name)
    for key, value in config.items():
        fill(browser, f"config.{key}", value)
    if shot:
        shoot(browser, shot)
    click(browser, "#create")
    assert flash(browser) == f"Created {kind[:-1]} {name!r}"
    assert name in find(browser, f"#{kind}").text


def create_connection(browser: Any, server: AirpipeServer, name: str, source: str, destination: str) -> None:
    from selenium.webdriver.support.ui import Select

    browser.get(server.url + "/")
    click(browser, "a.button")
    fill(browser, "name", name)
    Select(find(browser, "#source")).select_by_visible_text(f"{source} (Faker)")
    Select(find(browser, "#destination")).select_by_visible_text(f"{destination} (Local JSON)")
    click(browser, "#create")  # discovers the source's streams: a job, waited for
    assert flash(browser) == f"Created connection {name!r}"
    assert find(browser, "h1").text == name


def steady(condition: Callable[[], Any]) -> Callable[[], Any]:
    """``condition``, False while a live job page reloads itself (for a new attempt, or at the end)."""
    from selenium.common.exceptions import WebDriverException

    def check() -> Any:
        try:
            return condition()
        except WebDriverException:
            return False

    return check


def job_status(browser: Any) -> str:
    return str(find(browser, "#job-status").get_attribute("data-status"))


def wait_for_final_page(browser: Any, status: str, timeout: float) -> None:
    """Until the job page shows the job ended with ``status``, reloaded by its script (no Cancel left)."""

    def final() -> bool:
        loaded = browser.execute_script("return document.readyState") == "complete"
        return bool(loaded and job_status(browser) == status and finds(browser, "#attempts") and not finds(browser, "#cancel"))

    wait_until(steady(final), timeout, f"the job page to show the job {status}")


def polled(browser: Any) -> list[str]:
    """The API paths the page's script has fetched since it loaded."""
    entries = browser.execute_script("return performance.getEntriesByType('resource').map(function (e) { return e.name; })")
    return [name.split("/api/v1/", 1)[1] for name in entries if "/api/v1/" in name]


def test_create_sync_and_follow_a_job(browser: Any, server: AirpipeServer) -> None:
    create_actor(browser, server, "sources", FAKER, "fake shop", {"count": "300", "seed": "7"}, "source-form")
    create_actor(browser, server, "destinations", LOCAL_JSON, "files", {"destination_path": "/local/shop"})
    create_connection(browser, server, "shop to files", "fake shop", "files")
    assert sorted(row.text.split()[0] for row in finds(browser, "#streams tbody tr")) == ["products", "purchases", "users"]
    shoot(browser, "connection-new")

    click(browser, "#sync")
    assert find(browser, "h1").text.startswith("Job ")
    wait_for_final_page(browser, "succeeded", 60)
    attempt = find(browser, "#attempts tbody tr").text
    assert "succeeded" in attempt and "630 / ~630" in attempt  # 300 users, 300 purchases, 30 products
    logs = find(browser, "#logs").text
    assert "INFO [1]" in logs and "users" in logs
    shoot(browser, "job")
    assert (server.data_dir / "local" / "shop" / "users.jsonl").read_text().count("\n") == 300

    click(browser, "dd a")  # back to the connection: its history has the job
    assert "succeeded" in find(browser, "#jobs tbody tr").text
    shoot(browser, "connection")
    browser.get(server.url + "/")
    row = find(browser, "#connections tbody tr").text
    assert "shop to files" in row and "succeeded" in row and "manual" in row
    shoot(browser, "connections")


def test_cancel_a_long_sync_from_its_page(browser: Any, server: AirpipeServer) -> None:
    create_actor(browser, server, "sources", FAKER, "big shop", {"count": str(LONG_COUNT)})
    create_actor(browser, server, "destinations", LOCAL_JSON, "big files", {"destination_path": "/local/big"})
    create_connection(browser, server, "big sync", "big shop", "big files")
    click(browser, "#sync")
    # running, with its attempt shown: the page's script follows it without reloading until it ends
    started = steady(lambda: job_status(browser) == "running" and find(browser, "#attempts").get_attribute("data-count") == "1")
    wait_until(started, 30, "the job page to show the running attempt")
    browser.execute_script("window.notReloaded = true")
    wait_until(lambda: {"jobs/logs/list", "jobs/get"} <= set(polled(browser)), 10, "the page to poll the job's logs and status")
    wait_until(lambda: "users: reading records" in find(browser, "#logs").text, 30, "the sync's log lines on the page")
    assert browser.execute_script("return window.notReloaded") is True
    shoot(browser, "job-running")

    click(browser, "#cancel")
    assert job_status(browser) == "cancelled"
    assert "is cancelled" in flash(browser)
    wait_until(lambda: _attempt_ended(browser), 30, "the attempt to end")
    assert "cancelled" in find(browser, "#attempts").text
    browser.get(server.url + "/")
    assert "cancelled" in [row for row in finds(browser, "#connections tbody tr") if "big sync" in row.text][0].text


def _attempt_ended(browser: Any) -> bool:
    browser.refresh()
    return "running" not in find(browser, "#attempts tbody tr").text


def test_pages_read_with_javascript_off(server: AirpipeServer) -> None:
    """What a browser without JavaScript gets from the real server: the same pages, whole, with no
    script but a live job's (whose page refreshes itself instead)."""
    for path in ("/", "/ui/sources", "/ui/destinations", "/ui/workspaces", "/ui/connections/new"):
        with urllib.request.urlopen(server.url + path, timeout=10) as response:
            assert response.headers["Content-Type"].startswith("text/html"), path
            assert "<script" not in response.read().decode(), path


def test_the_dashboard_behind_basic_auth(browser: Any, tmp_path: Path) -> None:
    """With a password set, the browser asks for it (401 with WWW-Authenticate); given once, it is
    sent with every page, form and the pages' own API calls."""
    with AirpipeServer(tmp_path, {"AIRPIPE_BASIC_AUTH_PASSWORD": "open sesame"}) as guarded:
        browser.get(guarded.url + "/")
        assert "Connections" not in browser.page_source
        host = guarded.url.removeprefix("http://")
        browser.get(f"http://ada:wrong@{host}/")
        assert "Connections" not in browser.page_source
        browser.get(f"http://airbyte:open%20sesame@{host}/ui/workspaces")  # the browser keeps them for the site
        create_actor(browser, guarded, "sources", FAKER, "guarded shop", {"count": "10"})
        fetch = "var done = arguments[arguments.length - 1]; fetch('/api/v1/jobs/logs/list', {method: 'POST', body: '{\"jobId\": 1}'})"
        assert browser.execute_async_script(fetch + ".then(function (r) { done(r.status); })") in (200, 404)  # not 401
