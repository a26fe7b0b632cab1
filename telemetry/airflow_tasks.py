"""The callables of the Airflow DAG: `ds` in, a job of `telemetry.jobs` called.

Each takes the run's logical date as `ds` (YYYY-MM-DD), so the DAG file holds wiring only. The
jobs (and with them pyspark and dbt) are imported when a task runs, not when the DAG file is
parsed.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from telemetry.settings import (
    DBT_RUNS_DIR,
    LOOPBACK,
    NO_USAGE_TELEMETRY,
    SERVER_SETTINGS,
    lakehouse,
)


def dbt_runs_dir(ds: str) -> Path:
    """Where each dbt task of the DAG run for `ds` keeps its artifacts (one folder per task)."""
    return lakehouse().data_dir / DBT_RUNS_DIR / ds


def choose_source(params: dict[str, object]) -> str:
    """Simulated data (the default) or real devices' files: which task provides the raw day."""
    return "generate_raw" if params.get("generate", True) else "wait_for_raw"


def generate_raw(ds: str, params: dict[str, object]) -> int:
    from telemetry import jobs

    manifest = jobs.generate_days(lakehouse(), dt.date.fromisoformat(ds),
                                  rows_per_device=int(params.get("rows_per_device", 1440)),
                                  seed=int(params.get("seed", 42)))[0]
    return manifest.totals.lines


def raw_day_ready(ds: str) -> bool:
    from telemetry import jobs

    return jobs.raw_day_ready(lakehouse(), dt.date.fromisoformat(ds))


def ingest_bronze(ds: str) -> int:
    """Open the day's branch on every table, and land the day's raw lines there."""
    from telemetry import jobs
    from telemetry.spark import spark_session

    lake = lakehouse()
    spark, day = spark_session(lake), dt.date.fromisoformat(ds)
    jobs.start_day(spark, lake, day)
    return jobs.ingest(spark, lake, day)


def run_branch(ds: str) -> str:
    """The branch the DAG run for `ds` writes and audits (the dbt var `run_branch`)."""
    from telemetry.pipeline.publish import run_branch as branch_of

    return branch_of(dt.date.fromisoformat(ds))


def publish(ds: str) -> list[str]:
    """Publish the day once every dbt node and test upstream has succeeded."""
    from telemetry import jobs
    from telemetry.spark import spark_session

    lake = lakehouse()
    return jobs.publish_day(spark_session(lake), lake, dt.date.fromisoformat(ds))


def write_quality_metrics(ds: str) -> str:
    from telemetry import jobs
    from telemetry.spark import spark_session

    lake = lakehouse()
    runs = sorted(dbt_runs_dir(ds).glob("*/run_results.json"))
    return str(jobs.day_metrics_from_artifacts(spark_session(lake), lake,
                                               dt.date.fromisoformat(ds), runs))


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
        **NO_USAGE_TELEMETRY,
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", LOOPBACK),
    }


def maintain() -> dict[str, dict[str, int]]:
    """Weekly table maintenance: old snapshots expired, orphan files removed."""
    from telemetry.pipeline.history import maintain as maintain_tables
    from telemetry.spark import spark_session

    return maintain_tables(spark_session(lakehouse()))
