"""The callables of the Airflow DAG: thin wrappers over the same functions as `telemetry`.

Each takes the run's logical date as `ds` (YYYY-MM-DD), so the DAG file holds wiring only.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from ingest.lakehouse import lakehouse, server_mode

DBT_RUNS_DIR = "dbt-runs"
# Which engine the tasks use, and where the server is (see profiles/profiles.yml).
SERVER_SETTINGS = ["TELEMETRY_DBT_TARGET", "TELEMETRY_SERVER_HOST", "TELEMETRY_THRIFT_PORT",
                   "TELEMETRY_CONNECT_PORT", "TELEMETRY_SERVER_USER"]
EMBEDDED_SPARK_POOL = "embedded_spark"


def spark_pool() -> str:
    """The pool of the tasks that use Spark. Embedded: a pool of one slot, as the metastore admits
    one process. Server mode: Airflow's default pool, so independent tasks run side by side."""
    if os.environ.get("TELEMETRY_SPARK_POOL"):
        return os.environ["TELEMETRY_SPARK_POOL"]
    return "default_pool" if server_mode() else EMBEDDED_SPARK_POOL


def dbt_runs_dir(ds: str) -> Path:
    """Where each dbt task of the DAG run for `ds` keeps its artifacts (one folder per task)."""
    return lakehouse().data_dir / DBT_RUNS_DIR / ds


def choose_source(params: dict[str, object]) -> str:
    """Simulated data (the default) or real devices' files: which task provides the raw day."""
    return "generate_raw" if params.get("generate", True) else "wait_for_raw"


def generate_raw(ds: str, params: dict[str, object]) -> int:
    from ingest.fleet import load_registry
    from ingest.generator import generate

    lake = lakehouse()
    manifest = generate(lake.raw_dir, load_registry(), dt.date.fromisoformat(ds),
                        rows_per_device=int(params.get("rows_per_device", 1440)),
                        seed=int(params.get("seed", 42)))[0]
    return manifest.totals.lines


def raw_day_ready(ds: str) -> bool:
    """True once the day's raw folder holds at least one raw file."""
    from ingest.bronze import raw_files
    from ingest.lakehouse import LakehouseError

    try:
        return bool(raw_files(lakehouse().raw_dir, dt.date.fromisoformat(ds)))
    except LakehouseError:
        return False


def ingest_bronze(ds: str) -> int:
    from ingest.bronze import ingest_day
    from ingest.lakehouse import spark_session

    lake = lakehouse()
    return ingest_day(spark_session(lake), lake, dt.date.fromisoformat(ds))


def write_quality_metrics(ds: str) -> str:
    from ingest.dbt_build import test_results_from_artifacts
    from ingest.lakehouse import spark_session
    from ingest.metrics import quality_metrics, write_metrics

    lake = lakehouse()
    day = dt.date.fromisoformat(ds)
    runs = sorted(dbt_runs_dir(ds).glob("*/run_results.json"))
    tests = test_results_from_artifacts(runs, day)
    return str(write_metrics(lake, day, quality_metrics(spark_session(lake), day, tests)))


def dbt_env() -> dict[str, str]:
    """Environment of every dbt task: absolute lakehouse paths (Cosmos runs dbt from a temporary
    copy of the project), no usage telemetry, and a target folder of the task's own (Airflow
    renders the templates per task)."""
    lake = lakehouse()
    server = {name: os.environ[name] for name in SERVER_SETTINGS if os.environ.get(name)}
    return {
        **server,
        "TELEMETRY_HOME": str(lake.home),
        "TELEMETRY_DATA_DIR": str(lake.data_dir),
        "DBT_TARGET_PATH": f"{lake.data_dir}/{DBT_RUNS_DIR}/{{{{ ds }}}}/{{{{ ti.task_id }}}}",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
    }
