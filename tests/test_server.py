"""Server mode: the same project on the Spark Thrift + Connect server (`telemetry server`), on a
local master and on a standalone cluster of two workers, driven through the command line exactly
as a user would. Its lakehouse is a folder of its own, so that what the server writes is
checked apart from the suite's embedded runs."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from telemetry.jobs import run_day
from telemetry.pipeline.readers import read_event_dates
from telemetry.pipeline.registry import REGISTRY_PATH, load_registry
from telemetry.services.cluster import Cluster, master_state, start_cluster, stop_cluster
from telemetry.services.process import port_free
from telemetry.settings import Lakehouse
from telemetry.simulator import generate
from tests import reference
from tests.conftest import free_port

pytestmark = pytest.mark.spark

ROWS_PER_DEVICE = 240
SEED = 23
SAME_AS_EMBEDDED = dt.date(2025, 12, 1)
# Late readings reach back one day: the second day's late readings belong to the first, so both
# runs own the first day's event date.
CONCURRENT = [dt.date(2025, 12, 10), dt.date(2025, 12, 11)]
ON_CLUSTER = dt.date(2025, 12, 20)
IN_AIRFLOW = dt.date(2025, 12, 5)
GOLD = "gold.site_daily_kpis"


def telemetry(env: dict[str, str], *args: str, timeout: float = 900
              ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "telemetry.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def gold_rows(lake: Lakehouse, event_dates: list[dt.date]) -> list[dict[str, object]]:
    """Gold's rows for the event dates, read without Spark (pyiceberg)."""
    rows = read_event_dates(lake, GOLD, event_dates).to_pylist()
    return sorted(rows, key=lambda r: (r["event_date"], r["site_id"]))


def own_processes(marker: str) -> list[int]:
    """Pids of live processes whose command line mentions `marker` (this test's folder)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker.encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


@pytest.fixture(scope="module")
def server_lake(tmp_path_factory) -> Lakehouse:
    root = tmp_path_factory.mktemp("server-mode")
    return Lakehouse(home=Path(os.environ["TELEMETRY_HOME"]), data_dir=root / "data")


@pytest.fixture(scope="module")
def server_env(server_lake) -> dict[str, str]:
    return {
        **os.environ,
        "TELEMETRY_DATA_DIR": str(server_lake.data_dir),
        "TELEMETRY_DBT_TARGET": "server",
        "TELEMETRY_THRIFT_PORT": str(free_port()),
        "TELEMETRY_CONNECT_PORT": str(free_port()),
        "DBT_TARGET_PATH": str(server_lake.data_dir.parent / "dbt-target"),
        "DBT_LOG_PATH": str(server_lake.data_dir.parent / "dbt-logs"),
    }


@pytest.fixture(scope="module")
def raw_days(server_lake, lake) -> None:
    """The same raw files in the server's lakehouse and in the embedded one."""
    for raw_dir in (server_lake.raw_dir, lake.raw_dir):
        for day in [SAME_AS_EMBEDDED, *CONCURRENT, ON_CLUSTER]:
            generate(raw_dir, load_registry(), day, rows_per_device=ROWS_PER_DEVICE, seed=SEED)


@pytest.fixture(scope="module")
def server(server_env, server_lake, raw_days) -> Iterator[dict[str, str]]:
    started = telemetry(server_env, "server", "start", timeout=300)
    assert started.returncode == 0, started.stderr
    yield server_env
    telemetry(server_env, "server", "stop", timeout=120)


def expected_gold(lake: Lakehouse, days: set[dt.date], event_dates: list[dt.date]
                  ) -> dict[tuple[dt.date, str], dict]:
    """The plain-Python reference's Gold rows for event dates, from the raw files of `days`."""
    devices = reference.registry(REGISTRY_PATH)
    readings = list(reference.silver(reference.raw_lines(lake.raw_dir, days), devices)
                    .readings.values())
    return {
        (event_date, site): values
        for event_date in event_dates
        for site, values in reference.gold(readings, devices, event_date).items()
    }


def assert_gold_equals_reference(lake: Lakehouse, days: list[dt.date]) -> None:
    """Gold for the event dates the receive days own equals the reference over their files."""
    event_dates = sorted({days[0] - dt.timedelta(days=1), *days})
    want = expected_gold(lake, set(days), event_dates)
    got = {(r["event_date"], r["site_id"]): r for r in gold_rows(lake, event_dates)}
    assert set(got) == set(want)
    for key, values in want.items():
        for column, value in values.items():
            if value is None or isinstance(value, int):
                assert got[key][column] == value, (key, column)
            else:
                assert got[key][column] == pytest.approx(value, rel=1e-9, abs=1e-6), (key, column)


def test_status_tells_the_truth(server, server_lake):
    done = telemetry(server, "server", "status")
    pid = int((server_lake.data_dir / "run" / "spark-server.pid").read_text())
    assert done.stdout.strip() == (
        f"the Spark server is running (pid {pid}); "
        f"Thrift at 127.0.0.1:{server['TELEMETRY_THRIFT_PORT']} answers; "
        f"Spark Connect at sc://127.0.0.1:{server['TELEMETRY_CONNECT_PORT']} answers"
    )


def listening_addresses(port: int) -> list[str]:
    """The local addresses of sockets listening on `port`, from the kernel's own tables."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                # The kernel writes each 32-bit word in host (little-endian) order.
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                found.append(str(ipaddress.ip_address(words)))
    return found


def test_the_server_listens_on_loopback_only(server):
    for name in ("TELEMETRY_THRIFT_PORT", "TELEMETRY_CONNECT_PORT"):
        addresses = listening_addresses(int(server[name]))
        assert addresses, name
        for address in addresses:
            ip = ipaddress.ip_address(address)
            ip = getattr(ip, "ipv4_mapped", None) or ip
            assert ip.is_loopback, (name, address)


def test_server_run_gives_the_embedded_runs_gold_row_by_row(server, server_lake, spark, lake):
    done = telemetry(server, "run", "--date", str(SAME_AS_EMBEDDED))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    embedded = run_day(spark, lake, SAME_AS_EMBEDDED)
    event_dates = [SAME_AS_EMBEDDED - dt.timedelta(days=1), SAME_AS_EMBEDDED]
    server_gold = gold_rows(server_lake, event_dates)
    embedded_gold = gold_rows(lake, event_dates)
    assert len(server_gold) == 2 * len({d.site_id for d in load_registry()})
    assert len(server_gold) == len(embedded_gold)
    for got, want in zip(server_gold, embedded_gold, strict=True):
        assert got.keys() == want.keys()
        for column, value in want.items():
            # Sums of doubles may add up in another order on another engine: same to 1e-12.
            if isinstance(value, float):
                assert got[column] == pytest.approx(value, rel=1e-12), (want["site_id"], column)
            else:
                assert got[column] == value, (want["site_id"], column)
    # The metrics, dbt's test results included, are the same too.
    server_metrics = server_lake.metrics_dir / f"quality_{SAME_AS_EMBEDDED}.json"
    assert json.loads(server_metrics.read_text()) == json.loads(embedded.metrics_path.read_text())
    assert_gold_equals_reference(server_lake, [SAME_AS_EMBEDDED])


def test_an_embedded_process_reads_the_lakehouse_while_the_server_serves_it(server,
                                                                          server_lake):
    # One Iceberg catalog that several processes open at once: no lock to wait for.
    embedded = {**server, "TELEMETRY_DBT_TARGET": "local"}
    done = telemetry(embedded, "kpis", "--date", str(SAME_AS_EMBEDDED), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for row in gold_rows(server_lake, [SAME_AS_EMBEDDED]):
        assert f"{row['site_id']} " in done.stdout
        assert f" {row['readings_count']:,} " in done.stdout


def test_overlapping_days_started_together_end_as_the_reference(server, server_lake):
    first, second = CONCURRENT
    # The risky case: the second day's files hold late readings of the first day.
    devices = reference.registry(REGISTRY_PATH)
    late = [r for r in reference.silver(reference.raw_lines(server_lake.raw_dir, {second}),
                                        devices).readings.values()
            if r.reading_at.date() == first]
    assert late
    runs = [subprocess.Popen([sys.executable, "-m", "telemetry.cli", "run", "--date", str(day),
                              "--no-show-kpis"], env=server, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
            for day in CONCURRENT]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-4000:]
    # Whichever published second found `main` moved on and started over from the newer
    # tables: the first day's Gold holds the second day's late readings.
    assert_gold_equals_reference(server_lake, CONCURRENT)
    for day in CONCURRENT:
        metrics = json.loads((server_lake.metrics_dir / f"quality_{day}.json").read_text())
        assert metrics["lost_rows"] == 0
        assert metrics["status"] in {"passed", "warned"}


def python_prints(code: str, env: dict[str, str]) -> str:
    """The last line a Python snippet prints, run in a process of its own."""
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_the_dag_runs_in_server_mode_without_the_one_slot_pool(server, server_lake):
    """`airflow dags test` in a process of its own, set up as `telemetry airflow start` does."""
    env = json.loads(python_prints(
        "import json; from telemetry.settings import lakehouse; "
        "from telemetry.services.airflow import airflow_setup; "
        "print(json.dumps(airflow_setup(lakehouse())))",
        server))
    pools = python_prints(
        "from airflow.dag_processing.dagbag import DagBag; "
        "print(sorted({t.pool for t in DagBag().get_dag('energy_telemetry_daily').tasks}))", env)
    assert pools == "['default_pool']"

    airflow = Path(sys.executable).with_name("airflow")
    # The demo's source (the simulator), and the run scheduled at 02:00 on the next day.
    done = subprocess.run(
        [str(airflow), "dags", "test", "energy_telemetry_daily",
         f"{IN_AIRFLOW + dt.timedelta(days=1)}T02:00:00+00:00",
         "--conf", json.dumps({"rows_per_device": ROWS_PER_DEVICE, "seed": SEED})],
        env={**env, "TELEMETRY_RAW_SOURCE": "simulated"}, capture_output=True, text=True,
        timeout=1200, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    metrics = json.loads((server_lake.metrics_dir / f"quality_{IN_AIRFLOW}.json").read_text())
    assert {t["status"] for t in metrics["dbt_tests"]} <= {"pass", "warn"}
    # Every data test of the project's models and seed (Cosmos renders no source tests),
    # gathered from the dbt tasks that ran them.
    manifest = json.loads(Path(env["TELEMETRY_DBT_MANIFEST"]).read_text())
    data_tests = {node["name"] for node in manifest["nodes"].values()
                  if node["resource_type"] == "test"
                  and not all(parent.startswith("source.")
                              for parent in node["depends_on"]["nodes"])}
    assert len(data_tests) > 20
    assert {t["name"] for t in metrics["dbt_tests"]} == data_tests
    assert_gold_equals_reference(server_lake, [IN_AIRFLOW])


@pytest.fixture
def cluster(server_lake) -> Iterator[Cluster]:
    ui = free_port()
    cluster = Cluster(server_lake.data_dir.parent / "cluster", master_port=free_port(),
                      master_ui_port=ui, workers=2)
    if any(not port_free(cluster.worker_ui_port(i)) for i in (1, 2)):
        pytest.fail(f"ports after {ui} are taken; run again")
    start_cluster(cluster)
    yield cluster
    stop_cluster(cluster)


def test_server_on_a_standalone_cluster_runs_its_executors_on_the_workers(
        server, server_lake, cluster):
    assert telemetry(server, "server", "stop", timeout=120).returncode == 0
    started = telemetry(server, "server", "start", "--master", cluster.master_url, timeout=300)
    assert started.returncode == 0, started.stderr
    apps = master_state(cluster)["activeapps"]
    assert [app["name"] for app in apps] == ["energy-telemetry-server"]

    done = telemetry(server, "run", "--date", str(ON_CLUSTER), "--no-show-kpis")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert_gold_equals_reference(server_lake, [ON_CLUSTER])
    # Each worker ran an executor of the server's application, and it ran tasks.
    for instance in (1, 2):
        logs = list(cluster.work_dir(instance).glob(f"{apps[0]['id']}/*/stderr"))
        assert len(logs) == 1, instance
        assert "Finished task" in logs[0].read_text(errors="replace"), instance


def test_stop_leaves_no_process_of_the_test_behind(server, server_lake):
    done = telemetry(server, "server", "stop", timeout=120)
    assert done.stdout.strip() == "the Spark server stopped"
    assert own_processes(str(server_lake.data_dir.parent)) == []
    assert telemetry(server, "server", "status").stdout.strip() == "the Spark server is stopped"
    for port in (server["TELEMETRY_THRIFT_PORT"], server["TELEMETRY_CONNECT_PORT"]):
        assert port_free(int(port))


def test_a_server_run_without_a_server_says_how_to_start_one(server_env):
    done = telemetry(server_env, "run", "--date", str(SAME_AS_EMBEDDED), timeout=60)
    assert done.returncode == 2
    assert "no Spark server answers at 127.0.0.1:" in done.stderr
    assert "'telemetry server start'" in done.stderr
    assert "Traceback" not in done.stderr

