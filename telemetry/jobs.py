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

from ingest.bronze import BRONZE_TABLE, ingest_day
from ingest.layout import RawDataError, raw_files
from telemetry.pipeline.dbt import NodeResult, run_dbt, test_results_from_artifacts
from telemetry.pipeline.metrics import quality_metrics, write_metrics
from telemetry.pipeline.registry import load_registry
from telemetry.settings import Lakehouse, LakehouseError
from telemetry.simulator import DayManifest, generate

__all__ = ["BRONZE_TABLE", "DayRun", "build_day", "date_range", "day_metrics",
           "day_metrics_from_artifacts", "generate_days", "ingest", "raw_day_ready", "run_day"]


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


def build_day(lake: Lakehouse, day: dt.date) -> list[NodeResult]:
    """`dbt build` for a receive day: the seed, Silver, Gold and every data test. dbt's unit
    tests check the SQL, not the day's data: like dbt recommends, they run in development and CI
    (`make test`, or `dbt build`/`dbt test` by hand), not in every production run."""
    return run_dbt(lake, ["build", "--exclude-resource-type", "unit_test"], day)


def day_metrics(spark: SparkSession, lake: Lakehouse, day: dt.date,
                tests: list[NodeResult]) -> Path:
    """Write the receive day's quality-metrics JSON with these test results; its path."""
    return write_metrics(lake, day, quality_metrics(spark, day, tests))


def day_metrics_from_artifacts(spark: SparkSession, lake: Lakehouse, day: dt.date,
                               run_results: list[Path]) -> Path:
    """The same, with the test results read from dbt's run_results.json files of the day."""
    return day_metrics(spark, lake, day, test_results_from_artifacts(run_results, day))


def run_day(spark: SparkSession, lake: Lakehouse, day: dt.date) -> DayRun:
    """Ingest, build and metrics of one receive day, in this process."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    bronze_rows = ingest(spark, lake, day)
    timings["ingest"] = time.perf_counter() - start
    start = time.perf_counter()
    results = build_day(lake, day)
    timings["dbt_build"] = time.perf_counter() - start
    start = time.perf_counter()
    path = day_metrics(spark, lake, day, results)
    timings["metrics"] = time.perf_counter() - start
    return DayRun(day, bronze_rows, results, path, timings)
