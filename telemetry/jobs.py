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
from ingest.layout import RawDataError, complete_marker, is_complete, raw_files
from telemetry.pipeline.dbt import (
    NodeResult,
    failed_nodes,
    run_dbt,
    run_status,
    test_results_from_artifacts,
)
from telemetry.pipeline.metrics import quality_metrics, restate_books, write_metrics
from telemetry.pipeline.publish import (
    PUBLISHED_TABLES,
    PublishConflict,
    close_branch,
    is_unpublished,
    open_branch,
    publish,
    publish_lock,
    run_branch,
    use_branch,
)
from telemetry.pipeline.registry import load_registry
from telemetry.settings import Lakehouse, LakehouseError
from telemetry.simulator import DayManifest, generate

__all__ = ["BRONZE_TABLE", "DayRun", "build_day", "date_range", "day_metrics",
           "day_metrics_from_artifacts", "generate_days", "ingest", "publish_day",
           "raw_day_ready", "report_day", "require_complete", "run_day", "start_day"]

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


def raw_day_ready(lake: Lakehouse, day: dt.date, allow_incomplete: bool = False) -> bool:
    """True once the producer has marked the receive day complete (with `allow_incomplete`: once
    its folder holds a raw file)."""
    if is_complete(lake.raw_dir, day):
        return True
    try:
        return allow_incomplete and bool(raw_files(lake.raw_dir, day))
    except RawDataError:
        return False


def require_complete(lake: Lakehouse, day: dt.date) -> None:
    """A clear error unless the producer has marked the receive day complete."""
    if not is_complete(lake.raw_dir, day):
        raise LakehouseError(
            f"receive day {day} is not complete: {complete_marker(lake.raw_dir, day)} does not "
            "exist (the producer writes it once every file of the day is delivered). Wait for "
            "it, or process the files there now with --allow-incomplete.")


def ingest(spark: SparkSession, lake: Lakehouse, day: dt.date,
           allow_incomplete: bool = False) -> int:
    """Land the receive day's raw lines in Bronze; the number of lines. A day its producer has
    not marked complete is refused, unless `allow_incomplete`."""
    if not allow_incomplete:
        require_complete(lake, day)
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


def start_day(spark: SparkSession, lake: Lakehouse, day: dt.date,
              allow_incomplete: bool = False) -> str:
    """Open the day's branch on every table (this session writes and reads there); its name. A
    day its producer has not marked complete is refused first, unless `allow_incomplete`."""
    if not allow_incomplete:
        require_complete(lake, day)
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


def report_day(spark: SparkSession, lake: Lakehouse, day: dt.date, results: list[NodeResult],
               not_published: str | None = None) -> Path:
    """Write the receive day's quality metrics, whatever the run's outcome once dbt has run; the
    file's path. A published day: its file, and the files of the other receive days whose books
    its run changed. A day not published (a test failed, `not_published` says why, or its branch
    is still there): its file, read from its branch, then RunFailed."""
    branch = run_branch(day)
    # Under the publish lock: no other run publishes between reading a book and writing it.
    with publish_lock(lake):
        if not_published is None and not is_unpublished(spark, branch):
            path = day_metrics(spark, lake, day, results)
            restate_books(spark, lake)
            return path
        use_branch(spark, branch)
        try:
            path = day_metrics(spark, lake, day, results, unpublished_branch=branch)
        finally:
            close_branch(spark)
    failed = failed_nodes(results)
    reason = (", ".join(failed) if failed
              else not_published or "its tests passed, but it was not published")
    raise RunFailed(
        f"{day} was not published: {reason}. The tables are as they were; the day's new data "
        f"waits on the branch {branch!r} (e.g. select ... from silver.readings version as of "
        f"'{branch}'); metrics in {path}.")


def day_metrics_from_artifacts(spark: SparkSession, lake: Lakehouse, day: dt.date,
                               run_results: list[Path]) -> Path:
    """The receive day's metrics (report_day) with its test results read from dbt's
    run_results.json files of the day."""
    return report_day(spark, lake, day, test_results_from_artifacts(run_results, day))


def run_day(spark: SparkSession, lake: Lakehouse, day: dt.date,
            dbt_vars: dict[str, object] | None = None, allow_incomplete: bool = False) -> DayRun:
    """Ingest, build, audit and publish one receive day, in this process: write, audit, publish.

    Everything is written on the day's branch; when every error-severity test passed, each table
    is published in one commit, then the metrics are written. When a test failed, nothing is
    published, the metrics say so, and RunFailed names the failing nodes. When another run
    published meanwhile, the day starts over from the newer tables, at most PUBLISH_ATTEMPTS
    times."""
    for attempt in range(1, PUBLISH_ATTEMPTS + 1):
        try:
            return _run_day_once(spark, lake, day, dbt_vars or {}, allow_incomplete,
                                 last_attempt=attempt == PUBLISH_ATTEMPTS)
        except PublishConflict as conflict:
            print(f"{day}: {conflict} Starting the day over "
                  f"(attempt {attempt + 1} of {PUBLISH_ATTEMPTS}).", flush=True)
    raise AssertionError("unreachable")


def _run_day_once(spark: SparkSession, lake: Lakehouse, day: dt.date,
                  dbt_vars: dict[str, object], allow_incomplete: bool,
                  last_attempt: bool) -> DayRun:
    timings: dict[str, float] = {}
    not_published = None
    start = time.perf_counter()
    try:
        branch = start_day(spark, lake, day, allow_incomplete)
        timings["branch"] = time.perf_counter() - start
        start = time.perf_counter()
        bronze_rows = ingest(spark, lake, day, allow_incomplete)
        timings["ingest"] = time.perf_counter() - start
        start = time.perf_counter()
        results = build_day(lake, day, {**dbt_vars, "run_branch": branch}, check=False)
        timings["dbt_build"] = time.perf_counter() - start
        start = time.perf_counter()
        if run_status(results) == "failed":
            not_published = "a test failed"
        else:
            try:
                publish(spark, lake, branch)
            except PublishConflict as conflict:
                if not last_attempt:
                    raise
                not_published = str(conflict)
        timings["publish"] = time.perf_counter() - start
    finally:
        close_branch(spark)
    start = time.perf_counter()
    path = report_day(spark, lake, day, results, not_published)
    timings["metrics"] = time.perf_counter() - start
    return DayRun(day, bronze_rows, results, path, timings)
