"""`telemetry airflow start|stop`: Airflow standalone on 127.0.0.1 shows the DAG without import
errors, and stop ends every process it started."""

from __future__ import annotations

import json
import os
import urllib.request

import pytest

from telemetry.services.airflow import airflow_service, start_airflow
from tests.conftest import free_port


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
    passwords = lake.data_dir / "airflow" / "simple_auth_manager_passwords.json.generated"
    password = json.loads(passwords.read_text())["admin"]
    token = api(f"{url}/auth/token", body={"username": "admin", "password": password})
    token = token["access_token"]
    want = {"energy_telemetry_daily", "energy_telemetry_maintenance"}
    dag_ids: set[str] = set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and dag_ids != want:
        dag_ids = {d["dag_id"] for d in api(f"{url}/api/v2/dags", token)["dags"]}
        time.sleep(2)
    assert dag_ids == want
    assert api(f"{url}/api/v2/importErrors", token)["total_entries"] == 0


def test_stop_ends_every_process_it_started(airflow, lake):
    _, pid = airflow
    service = airflow_service(lake)
    assert service.stop()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    assert service.pid() is None
    assert not service.stop()
