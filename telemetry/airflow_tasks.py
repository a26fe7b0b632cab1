"""The callables of the Airflow DAG: a receive day in, a job of `telemetry.jobs` called.

Each takes the receive day the run processes (YYYY-MM-DD, rendered from RECEIVE_DAY) and the last
day of its range (LAST_RECEIVE_DAY: the same day, unless a manual run names a range), so the DAG
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

from telemetry.pipeline.tables import (
    BRONZE_TABLE,
    GOLD_TABLE,
    PUBLISHED_TABLES,
    RECONCILIATION_TABLE,
)
from telemetry.settings import (
    DBT_RUNS_DIR,
    LOOPBACK,
    NO_USAGE_TELEMETRY,
    SERVER_SETTINGS,
    LakehouseError,
    file_system_env,
    lakehouse,
)

# The templates every task renders its receive days from (see receive_day, last_receive_day).
RECEIVE_DAY = "{{ receive_day(dag_run, params) }}"
LAST_RECEIVE_DAY = "{{ last_receive_day(dag_run, params) }}"


def receive_day(dag_run: Any, params: dict[str, Any] | None = None) -> str:
    """The receive day a DAG run processes (the first of its range), YYYY-MM-DD (the DAG's
    `receive_day` macro).

    The day that ended before the run's logical date: the run scheduled for 02:00 UTC on D+1
    processes D (under Airflow 3's cron timetable the logical date is the moment of the run
    itself), and so does a backfill's run for that moment. A manual run without a logical date
    counts from the moment it was triggered; one given the param `date` processes that day, one
    given `from` (and `to`) the range from that day."""
    params = params or {}
    if params.get("date") and params.get("from"):
        raise ValueError("give the param date (one receive day) or from/to (a range), not both")
    chosen = params.get("from") or params.get("date")
    if chosen:
        return dt.date.fromisoformat(str(chosen)).isoformat()
    if params.get("to"):
        raise ValueError(f"the param to ({params['to']}) needs from, the range's first day")
    moment = getattr(dag_run, "logical_date", None) or dag_run.run_after
    return (moment.astimezone(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


def last_receive_day(dag_run: Any, params: dict[str, Any] | None = None) -> str:
    """The last receive day a DAG run processes (the DAG's `last_receive_day` macro): the param
    `to` of a manual run given a range (`from` .. `to`, processed in one pass, at most
    MAX_BATCH_DAYS days), else the run's one receive day."""
    from telemetry.jobs import MAX_BATCH_DAYS

    first = receive_day(dag_run, params)
    chosen = (params or {}).get("to")
    if not chosen:
        return first
    last = dt.date.fromisoformat(str(chosen)).isoformat()
    if last < first:
        raise ValueError(f"the param to ({last}) is before the range's first day ({first})")
    days = (dt.date.fromisoformat(last) - dt.date.fromisoformat(first)).days + 1
    if days > MAX_BATCH_DAYS:
        raise ValueError(
            f"{first} to {last} is {days} days; a DAG run processes at most {MAX_BATCH_DAYS} in "
            "one pass: trigger a run per month, or run `telemetry run --date A --to B`, which "
            "splits a longer range into batches")
    return last


def _days(day: str, to: str | None) -> list[dt.date]:
    from telemetry.jobs import date_range

    return date_range(dt.date.fromisoformat(day), dt.date.fromisoformat(to or day))


def dbt_runs_dir(day: str) -> Path:
    """Where each dbt task of the DAG run for a receive day keeps its artifacts (one folder per
    task)."""
    return lakehouse().data_dir / DBT_RUNS_DIR / day


def generate_raw(day: str, params: dict[str, object], to: str | None = None) -> int:
    """Simulate the raw files of the run's receive days (the simulated source; never over real
    files); the lines written."""
    from telemetry import jobs

    days = _days(day, to)
    manifests = jobs.generate_days(lakehouse(), days[0], len(days),
                                   rows_per_device=int(params.get("rows_per_device", 1440)),
                                   seed=int(params.get("seed", 42)))
    return sum(manifest.totals.lines for manifest in manifests)


def raw_day_ready(day: str, params: dict[str, object], to: str | None = None) -> bool:
    """True once the producer has marked every receive day of the run complete (or, with the
    param `allow_incomplete`, once each has a file)."""
    from telemetry import jobs

    lake = lakehouse()
    allow_incomplete = bool(params.get("allow_incomplete", False))
    return all(jobs.raw_day_ready(lake, each, allow_incomplete) for each in _days(day, to))


def ingest_bronze(day: str, params: dict[str, object], to: str | None = None) -> int:
    """Open the run's branch on every table, and land the raw lines of its receive days there
    (a range in one write); the lines written. The dbt artifacts of an earlier run from the same
    day are cleared first: the metrics read this run's."""
    from telemetry import jobs
    from telemetry.spark import spark_session

    shutil.rmtree(dbt_runs_dir(day), ignore_errors=True)
    lake, days = lakehouse(), _days(day, to)
    allow_incomplete = bool(params.get("allow_incomplete", False))
    spark = spark_session(lake)
    jobs.start_day(spark, lake, days[0], allow_incomplete, to=days[-1])
    return sum(jobs.ingest_range(spark, lake, days, allow_incomplete).values())


def run_branch(day: str, to: str | None = None) -> str:
    """The branch the DAG run for a receive day (or a range) writes and audits (the dbt var
    `run_branch`)."""
    from telemetry.pipeline.publish import run_branch as branch_of

    days = _days(day, to)
    return branch_of(days[0], days[-1])


def publish(day: str, to: str | None = None, outlet_events: Any = None) -> list[str]:
    """Publish the run once every dbt node and test upstream has succeeded. The asset events of
    the published tables say which receive days they now hold (`from`, `to`)."""
    from telemetry import jobs
    from telemetry.spark import spark_session

    lake, days = lakehouse(), _days(day, to)
    published = jobs.publish_day(spark_session(lake), lake, days[0], days[-1])
    if outlet_events is not None:
        for table in PUBLISHED_TABLES:
            outlet_events[table_asset(table)].extra = {"from": days[0].isoformat(),
                                                       "to": days[-1].isoformat()}
    return published


def write_quality_metrics(day: str, to: str | None = None) -> list[str]:
    """Write the metrics of every receive day of the run from every dbt task's results, whatever
    their outcome, and fail (after writing them) when the run was not published."""
    from telemetry import jobs
    from telemetry.spark import spark_session

    lake, days = lakehouse(), _days(day, to)
    runs = sorted(dbt_runs_dir(day).glob("*/run_results.json"))
    if not runs:
        raise LakehouseError(f"no dbt task ran for {day}: the run stopped before dbt (see the "
                             "failed task upstream); there is nothing to report")
    paths = jobs.day_metrics_from_artifacts(spark_session(lake), lake, days[0], runs, days[-1])
    return [str(path) for path in paths.values()]


def write_kpi_report(params: dict[str, Any], triggering_asset_events: Any = None) -> str:
    """Write the KPI report (`telemetry report`) of the `days` days ending on the param `date`,
    or, in a run the Gold table's update scheduled, on the last receive day that update
    published; the report's path."""
    from telemetry.pipeline.report import write_report

    chosen = params.get("date")
    if not chosen:
        events = list((triggering_asset_events or {}).get(gold_asset(), []))
        published = [event.extra["to"] for event in events if (event.extra or {}).get("to")]
        if not published:
            raise LakehouseError("no receive day to report: give the param date, or let an "
                                 f"update of {GOLD_TABLE} schedule the run")
        chosen = max(published)
    day = dt.date.fromisoformat(str(chosen))
    return str(write_report(lakehouse(), day, int(params["days"])))


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
        **file_system_env(lake),
        **NO_USAGE_TELEMETRY,
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", LOOPBACK),
    }


# What each task reads and writes, as Airflow assets: the DAGs schedule on them and OpenLineage
# reports them. Every dataset is named by where it lives in the lakehouse (a file:// URI).


def _asset(name: str, path: Path) -> Any:
    from airflow.sdk import Asset

    return Asset(name=name, uri=path.as_uri(), group="lakehouse")


def table_asset(table: str) -> Any:
    """The Iceberg table `schema.name` as an asset: its folder in the warehouse."""
    schema, name = table.split(".")
    return _asset(table, lakehouse().warehouse_dir / schema / name)


def bronze_asset() -> Any:
    return table_asset(BRONZE_TABLE)


def reconciliation_asset() -> Any:
    return table_asset(RECONCILIATION_TABLE)


def gold_asset() -> Any:
    return table_asset(GOLD_TABLE)


def raw_asset() -> Any:
    return _asset("raw telemetry files", lakehouse().raw_dir)


def metrics_asset() -> Any:
    return _asset("quality metrics", lakehouse().metrics_dir)


def reports_asset() -> Any:
    return _asset("KPI reports", lakehouse().reports_dir)


def published_assets() -> list[Any]:
    return [table_asset(table) for table in PUBLISHED_TABLES]


def declare_dbt_lineage(group: Any, manifest: Path) -> None:
    """Give each dbt task of a Cosmos task group the tables its node reads (its parents; a
    test's, the tables it checks) and the one it writes, from dbt's manifest, as inlets and
    outlets: what OpenLineage reports for it."""
    import json

    nodes = json.loads(manifest.read_text(encoding="utf-8"))
    relations = {uid: f"{node['schema']}.{node.get('alias') or node.get('identifier')}"
                 for kind in ("nodes", "sources") for uid, node in nodes[kind].items()
                 if node["resource_type"] in {"model", "seed", "source"}}
    for task in group.children.values():
        config = getattr(task, "extra_context", {}).get("dbt_node_config")
        if not config:
            continue
        node = config["unique_id"]
        if config["resource_type"] == "source":  # its freshness check reads it
            task.inlets = [table_asset(relations[node])]
            continue
        parents = sorted({relations[uid] for uid in config["depends_on"] if uid in relations})
        task.inlets = [table_asset(table) for table in parents]
        if node in relations:  # a model or seed writes its table; a test reads only
            task.outlets = [table_asset(relations[node])]


def maintain() -> dict[str, dict[str, int]]:
    """Weekly table maintenance: old snapshots expired, orphan files removed."""
    from telemetry.pipeline.history import maintain as maintain_tables
    from telemetry.spark import spark_session

    return maintain_tables(spark_session(lakehouse()))
