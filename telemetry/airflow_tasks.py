"""The callables of the Airflow DAG: a receive day in, a job of `telemetry.jobs` called.

Each takes the receive day the run processes (YYYY-MM-DD, rendered from RECEIVE_DAY), so the DAG
file holds wiring only. The
jobs (and with them pyspark and dbt) are imported when a task runs, not when the DAG file is
parsed.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path
from typing import Any

from telemetry.settings import (
    DBT_RUNS_DIR,
    LOOPBACK,
    NO_USAGE_TELEMETRY,
    SERVER_SETTINGS,
    LakehouseError,
    lakehouse,
)

# The template every task renders its receive day from (see receive_day).
RECEIVE_DAY = "{{ receive_day(dag_run, params) }}"


def receive_day(dag_run: Any, params: dict[str, Any] | None = None) -> str:
    """The receive day a DAG run processes, YYYY-MM-DD (the DAG's `receive_day` macro).

    The day that ended before the run's logical date: the run scheduled for 02:00 UTC on D+1
    processes D (under Airflow 3's cron timetable the logical date is the moment of the run
    itself), and so does a backfill's run for that moment. A manual run without a logical date
    counts from the moment it was triggered; one given the param `date` processes that day."""
    chosen = (params or {}).get("date")
    if chosen:
        return dt.date.fromisoformat(str(chosen)).isoformat()
    moment = getattr(dag_run, "logical_date", None) or dag_run.run_after
    return (moment.astimezone(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


def dbt_runs_dir(day: str) -> Path:
    """Where each dbt task of the DAG run for a receive day keeps its artifacts (one folder per
    task)."""
    return lakehouse().data_dir / DBT_RUNS_DIR / day


def generate_raw(day: str, params: dict[str, object]) -> int:
    """Simulate the receive day's raw files (the simulated source; never over real files)."""
    from telemetry import jobs

    manifest = jobs.generate_days(lakehouse(), dt.date.fromisoformat(day),
                                  rows_per_device=int(params.get("rows_per_device", 1440)),
                                  seed=int(params.get("seed", 42)))[0]
    return manifest.totals.lines


def raw_day_ready(day: str, params: dict[str, object]) -> bool:
    """True once the producer has marked the receive day complete (or, with the param
    `allow_incomplete`, once it has a file)."""
    from telemetry import jobs

    return jobs.raw_day_ready(lakehouse(), dt.date.fromisoformat(day),
                              bool(params.get("allow_incomplete", False)))


def ingest_bronze(day: str, params: dict[str, object]) -> int:
    """Open the day's branch on every table, and land the day's raw lines there. The dbt
    artifacts of an earlier run of the day are cleared first: the metrics read this run's."""
    from telemetry import jobs
    from telemetry.spark import spark_session

    shutil.rmtree(dbt_runs_dir(day), ignore_errors=True)
    lake, date = lakehouse(), dt.date.fromisoformat(day)
    allow_incomplete = bool(params.get("allow_incomplete", False))
    spark = spark_session(lake)
    jobs.start_day(spark, lake, date, allow_incomplete)
    return jobs.ingest(spark, lake, date, allow_incomplete)


def run_branch(day: str) -> str:
    """The branch the DAG run for a receive day writes and audits (the dbt var `run_branch`)."""
    from telemetry.pipeline.publish import run_branch as branch_of

    return branch_of(dt.date.fromisoformat(day))


def publish(day: str) -> list[str]:
    """Publish the day once every dbt node and test upstream has succeeded."""
    from telemetry import jobs
    from telemetry.spark import spark_session

    lake = lakehouse()
    return jobs.publish_day(spark_session(lake), lake, dt.date.fromisoformat(day))


def write_quality_metrics(day: str) -> str:
    """Write the day's metrics from every dbt task's results, whatever their outcome, and fail
    (after writing them) when the day was not published."""
    from telemetry import jobs
    from telemetry.spark import spark_session

    lake = lakehouse()
    runs = sorted(dbt_runs_dir(day).glob("*/run_results.json"))
    if not runs:
        raise LakehouseError(f"no dbt task ran for {day}: the run stopped before dbt (see the "
                             "failed task upstream); there is nothing to report")
    return str(jobs.day_metrics_from_artifacts(spark_session(lake), lake,
                                               dt.date.fromisoformat(day), runs))


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
        "DBT_TARGET_PATH": f"{lake.data_dir}/{DBT_RUNS_DIR}/{RECEIVE_DAY}/{{{{ ti.task_id }}}}",
        **NO_USAGE_TELEMETRY,
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", LOOPBACK),
    }


def maintain() -> dict[str, dict[str, int]]:
    """Weekly table maintenance: old snapshots expired, orphan files removed."""
    from telemetry.pipeline.history import maintain as maintain_tables
    from telemetry.spark import spark_session

    return maintain_tables(spark_session(lakehouse()))
