"""The jobs both front ends call (`telemetry` and the Airflow DAG): generate a day, ingest it,
build it with dbt, write its metrics, or run it whole in one process and one JVM.

This is the one module where the simulator and the pipeline meet; neither imports the other.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import SparkSession

from ingest.bronze import BRONZE_TABLE, ensure_bronze_table, ingest_day
from ingest.layout import RawDataError, raw_files
from telemetry.pipeline.dbt import (
    NodeResult,
    failed_nodes,
    run_dbt,
    run_status,
    test_results_from_artifacts,
)
from telemetry.pipeline.metrics import quality_metrics, write_metrics
from telemetry.pipeline.publish import (
    PUBLISHED_TABLES,
    PublishConflict,
    close_branch,
    open_branch,
    publish,
    run_branch,
)
from telemetry.pipeline.registry import load_registry
from telemetry.settings import Lakehouse, LakehouseError
from telemetry.simulator import DayManifest, generate

__all__ = ["BRONZE_TABLE", "DayRun", "build_day", "date_range", "day_metrics",
           "day_metrics_from_artifacts", "generate_days", "ingest", "publish_day",
           "raw_day_ready", "run_day", "start_day"]

# A run whose tables another run published meanwhile starts over, this many times at most.
PUBLISH_ATTEMPTS = 3


class RunFailed(LakehouseError):
    """A day's run stopped before publishing: nothing of it is published."""


@dataclass(frozen=True)
class DayRun:
    day: dt.date
    bronze_rows: int
    dbt_results: list[NodeResult]
    metrics_path: Path
    timings_s: dict[str, float] = field(default_factory=dict)

    def report(self) -> dict[str, object]:
        """What the run did and how long each stage and dbt node took, for the benchmark."""
        return {
            "day": self.day.isoformat(),
            "bronze_rows": self.bronze_rows,
            "timings_s": self.timings_s,
            "dbt_nodes_s": {r.unique_id: r.execution_time for r in self.dbt_results},
        }


def date_range(start: dt.date, end: dt.date | None = None) -> list[dt.date]:
    """The days from `start` to `end` (default: `start`), in order."""
    end = end or start
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def generate_days(lake: Lakehouse, start: dt.date, days: int = 1, rows_per_device: int = 1440,
                  seed: int = 42) -> list[DayManifest]:
    """Simulated raw files of the registered fleet for `days` receive days from `start`."""
    return generate(lake.raw_dir, load_registry(), start, days,
                    rows_per_device, seed)


def raw_day_ready(lake: Lakehouse, day: dt.date) -> bool:
    """True once the day's raw folder holds at least one raw file."""
    try:
        return bool(raw_files(lake.raw_dir, day))
    except RawDataError:
        return False


def ingest(spark: SparkSession, lake: Lakehouse, day: dt.date) -> int:
    """Land the receive day's raw lines in Bronze; the number of lines."""
    try:
        return ingest_day(spark, lake.raw_dir, day)
    except RawDataError as error:
        raise LakehouseError(str(error)) from None


def build_day(lake: Lakehouse, day: dt.date, dbt_vars: dict[str, object] | None = None,
              check: bool = True) -> list[NodeResult]:
    """`dbt build` for a receive day: the seed, Silver, Gold and every data test. dbt's unit
    tests check the SQL, not the day's data: like dbt recommends, they run in development and CI
    (`make test`, or `dbt build`/`dbt test` by hand), not in every production run."""
    return run_dbt(lake, ["build", "--exclude-resource-type", "unit_test"], day, dbt_vars,
                   check=check)


def create_tables(spark: SparkSession, lake: Lakehouse, day: dt.date) -> None:
    """On a new lakehouse, create every table empty (on `main`), so that even the first day is
    written on a branch and published only after its tests."""
    if all(spark.catalog.tableExists(table) for table in PUBLISHED_TABLES):
        return
    ensure_bronze_table(spark)
    run_dbt(lake, ["build", "--empty", "--resource-type", "seed", "--resource-type", "model"],
            day)


def start_day(spark: SparkSession, lake: Lakehouse, day: dt.date) -> str:
    """Open the day's branch on every table (this session writes and reads there); its name."""
    create_tables(spark, lake, day)
    branch = run_branch(day)
    open_branch(spark, branch)
    return branch


def publish_day(spark: SparkSession, lake: Lakehouse, day: dt.date) -> list[str]:
    """Publish the day's branch: one atomic commit per table."""
    return publish(spark, lake, run_branch(day))


def day_metrics(spark: SparkSession, lake: Lakehouse, day: dt.date,
                tests: list[NodeResult], unpublished_branch: str | None = None) -> Path:
    """Write the receive day's quality-metrics JSON with these test results; its path."""
    return write_metrics(lake, day, quality_metrics(spark, day, tests, unpublished_branch))


def day_metrics_from_artifacts(spark: SparkSession, lake: Lakehouse, day: dt.date,
                               run_results: list[Path]) -> Path:
    """The same, with the test results read from dbt's run_results.json files of the day."""
    return day_metrics(spark, lake, day, test_results_from_artifacts(run_results, day))


def run_day(spark: SparkSession, lake: Lakehouse, day: dt.date,
            dbt_vars: dict[str, object] | None = None) -> DayRun:
    """Ingest, build, audit and publish one receive day, in this process: write, audit, publish.

    Everything is written on the day's branch; when every error-severity test passed, each table
    is published in one commit, then the metrics are written. When a test failed, nothing is
    published, the metrics say so, and RunFailed names the failing nodes. When another run
    published meanwhile, the day starts over from the newer tables."""
    for attempt in range(1, PUBLISH_ATTEMPTS + 1):
        try:
            return _run_day_once(spark, lake, day, dbt_vars or {})
        except PublishConflict as conflict:
            if attempt == PUBLISH_ATTEMPTS:
                raise
            print(f"{day}: {conflict} Starting the day over "
                  f"(attempt {attempt + 1} of {PUBLISH_ATTEMPTS}).", flush=True)
    raise AssertionError("unreachable")


def _run_day_once(spark: SparkSession, lake: Lakehouse, day: dt.date,
                  dbt_vars: dict[str, object]) -> DayRun:
    timings: dict[str, float] = {}
    start = time.perf_counter()
    try:
        branch = start_day(spark, lake, day)
        timings["branch"] = time.perf_counter() - start
        start = time.perf_counter()
        bronze_rows = ingest(spark, lake, day)
        timings["ingest"] = time.perf_counter() - start
        start = time.perf_counter()
        results = build_day(lake, day, {**dbt_vars, "run_branch": branch}, check=False)
        timings["dbt_build"] = time.perf_counter() - start
        if run_status(results) == "failed":
            path = day_metrics(spark, lake, day, results, unpublished_branch=branch)
            raise RunFailed(
                f"{day} was not published: {', '.join(failed_nodes(results))}. The tables are "
                f"as they were; the day's new data waits on the branch {branch!r} (e.g. select "
                f"... from silver.readings version as of '{branch}'); metrics in {path}.")
        start = time.perf_counter()
        publish(spark, lake, branch)
        timings["publish"] = time.perf_counter() - start
    finally:
        close_branch(spark)
    start = time.perf_counter()
    path = day_metrics(spark, lake, day, results)
    timings["metrics"] = time.perf_counter() - start
    return DayRun(day, bronze_rows, results, path, timings)
