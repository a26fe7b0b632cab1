"""`telemetry airflow start|stop`: Airflow standalone on 127.0.0.1 shows the DAG without import
errors, and stop ends every process it started."""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.request

import pytest

from telemetry.services.airflow import airflow_password_file, airflow_service, start_airflow
from tests.conftest import free_port
from tests.test_docs_site import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS


def api(url: str, token: str | None = None, body: dict | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"}
                                                 if token else {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def airflow(lake):
    port = free_port()
    url = start_airflow(lake, port)
    service = airflow_service(lake)
    pid = service.pid()
    yield url, pid
    service.stop()


def test_airflow_serves_the_dag_on_loopback(airflow, lake):
    import time

    url, _ = airflow
    assert url.startswith("http://127.0.0.1:")
    password = json.loads(airflow_password_file(lake).read_text())["admin"]
    token = api(f"{url}/auth/token", body={"username": "admin", "password": password})
    token = token["access_token"]
    want = {"energy_telemetry_daily", "energy_telemetry_maintenance", "energy_telemetry_report"}
    dag_ids: set[str] = set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and dag_ids != want:
        dag_ids = {d["dag_id"] for d in api(f"{url}/api/v2/dags", token)["dags"]}
        time.sleep(2)
    assert dag_ids == want
    assert api(f"{url}/api/v2/importErrors", token)["total_entries"] == 0


def test_airflow_shows_the_dbt_docs_lineage_graph(airflow, lake):
    """Logged in, the Airflow page Cosmos adds (Browse > dbt docs) shows the project's lineage
    graph, Bronze source to Gold model, in a headless Chromium; the screenshot is kept."""
    from playwright.sync_api import sync_playwright

    url, _ = airflow
    password = json.loads(airflow_password_file(lake).read_text())["admin"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{url}/auth/login/")
        page.fill("input[name='username']", "admin")
        page.fill("input[name='password']", password)
        page.click("button[type='submit']")
        # Logged in once the form has sent the browser on (going elsewhere before that is
        # aborted by the login's own redirect).
        page.wait_for_url(lambda address: "/auth/login" not in address, timeout=60_000)
        page.wait_for_load_state("load")
        page.goto(f"{url}/plugin/dbt-docs")
        # Airflow's UI renders the docs frame late, and may render it again: a frame locator
        # finds the current one each time.
        docs = page.frame_locator("iframe[src*='dbt_docs_index.html']")
        # The docs app routes itself to its overview once it has started; then its lineage
        # button (bottom right) opens the graph.
        _wait_until(docs, "() => window.location.hash.startsWith('#!/overview')")
        docs.locator(".launcher-btn a").click(timeout=60_000)
        _wait_until(docs, "() => { const c = document.getElementById('cy');"
                          " return !!(c && c.offsetHeight > 100 && c._cyreg && c._cyreg.cy"
                          " && c._cyreg.cy.nodes().length > 0) }")
        page.wait_for_timeout(1500)
        nodes = set(docs.locator("#cy").evaluate(
            "c => c._cyreg.cy.nodes().map(n => n.id())"))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "airflow-dbt-docs.png"))
        logged_in = "/auth/login" not in page.url
        browser.close()
    assert logged_in
    assert {"source.energy_telemetry.bronze.raw_telemetry",
            "model.energy_telemetry.readings",
            "model.energy_telemetry.site_daily_kpis"} <= nodes


def _wait_until(frame, condition, seconds=60):
    """Wait until a script's condition holds in the frame (its body's page)."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(PlaywrightError):
            if frame.locator("body").evaluate(f"_ => ({condition})()"):
                return
        time.sleep(0.5)
    raise AssertionError(f"the docs frame never met {condition!r} in {seconds} s")


def test_stop_ends_every_process_it_started(airflow, lake):
    _, pid = airflow
    service = airflow_service(lake)
    assert service.stop()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    assert service.pid() is None
    assert not service.stop()
