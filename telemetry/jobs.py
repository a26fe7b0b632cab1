"""The jobs both front ends call (`telemetry` and the Airflow DAG): generate a day, ingest it,
build it with dbt, write its metrics, or run it whole in one process and one JVM.

This is the one module where the simulator and the pipeline meet; neither imports the other.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import SparkSession

from ingest.bronze import BRONZE_TABLE, ensure_bronze_table, ingest_days
from ingest.layout import RawDataError, complete_marker, is_complete, raw_files
from telemetry.pipeline.dbt import (
    NodeResult,
    days_text,
    failed_nodes,
    run_dbt,
    run_status,
    test_results_from_artifacts,
)
from telemetry.pipeline.metrics import (
    Books,
    quality_metrics,
    read_books,
    restate_books,
    write_metrics,
)
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
from telemetry.settings import LOOPBACK, Lakehouse, LakehouseError, build_threads, lakehouse
from telemetry.simulator import DayManifest, generate
from telemetry.spark import java_version_text, spark_conf, spark_session

__all__ = ["BRONZE_TABLE", "DayRun", "Run", "build_day", "date_range", "day_metrics",
           "day_metrics_from_artifacts", "generate_days", "ingest", "ingest_range",
           "publish_day", "raw_bytes", "raw_day_ready", "record_class_archive", "report_day",
           "report_days", "require_complete", "run_day", "run_days", "start_day"]

# Each stage of a run, as it ends: what it did, with its counts and time (the command line
# prints these; the DAG's task logs hold them).
log = logging.getLogger("telemetry")

# A run whose tables another run published meanwhile starts over, this many times at most.
PUBLISH_ATTEMPTS = 3
# The most receive days one batch holds: a longer range runs as consecutive batches of this many
# days. Spark writes a batch's partitions with a file open for each partition a task meets, and
# on the embedded engine's 1.5 GiB driver a year of days at once runs out of memory (a month
# does not).
MAX_BATCH_DAYS = 31


class RunFailed(LakehouseError):
    """A day's run stopped before publishing: nothing of it is published."""


@dataclass(frozen=True)
class Run:
    """What a run of one receive day, or of a range of them in one pass, did."""
    days: list[dt.date]
    bronze_rows: dict[dt.date, int]
    dbt_results: list[NodeResult]
    metrics_paths: dict[dt.date, Path]
    timings_s: dict[str, float] = field(default_factory=dict)

    def report(self) -> dict[str, object]:
        """What the run did and how long each stage and dbt node took, for the benchmark."""
        return {
            "days": [day.isoformat() for day in self.days],
            "bronze_rows": {day.isoformat(): rows for day, rows in self.bronze_rows.items()},
            "timings_s": self.timings_s,
            "dbt_nodes_s": {r.unique_id: r.execution_time for r in self.dbt_results},
        }


@dataclass(frozen=True)
class DayRun:
    """What the run of one receive day did."""
    day: dt.date
    bronze_rows: int
    dbt_results: list[NodeResult]
    metrics_path: Path
    timings_s: dict[str, float] = field(default_factory=dict)


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


def raw_bytes(lake: Lakehouse, days: list[dt.date]) -> int:
    """How many bytes the receive days' raw files hold (what a run will read); the error the
    ingest would give for a day it cannot read."""
    try:
        return sum(path.stat().st_size for day in days for path in raw_files(lake.raw_dir, day))
    except RawDataError as error:
        raise LakehouseError(str(error)) from None


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
    return ingest_range(spark, lake, [day], allow_incomplete)[day]


def ingest_range(spark: SparkSession, lake: Lakehouse, days: list[dt.date],
                 allow_incomplete: bool = False) -> dict[dt.date, int]:
    """Land the receive days' raw lines in Bronze, in one write; the number of lines per day. A
    day its producer has not marked complete is refused, unless `allow_incomplete`, before any
    day is written."""
    if not allow_incomplete:
        for day in days:
            require_complete(lake, day)
    try:
        return ingest_days(spark, lake.raw_dir, days)
    except RawDataError as error:
        raise LakehouseError(str(error)) from None


def build_day(lake: Lakehouse, day: dt.date, dbt_vars: dict[str, object] | None = None,
              check: bool = True, to: dt.date | None = None, threads: int | None = None,
              tests_hold_back_models: bool = True) -> list[NodeResult]:
    """`dbt build` for a receive day (or the range `day` .. `to`, in one build): the seed,
    Silver, Gold and every data test, with `threads` nodes side by side (default: the
    profile's). dbt's unit tests check the SQL, not the day's data: like dbt recommends, they
    run in development and CI (`make test`, or `dbt build`/`dbt test` by hand), not in every
    production run. `tests_hold_back_models=False` on a run's branch only (tests_beside_models)."""
    command = ["build", "--exclude-resource-type", "unit_test"]
    if threads:
        command += ["--threads", str(threads)]
    return run_dbt(lake, command, day, dbt_vars, check=check, to=to,
                   tests_hold_back_models=tests_hold_back_models)


def start_day(spark: SparkSession, lake: Lakehouse, day: dt.date,
              allow_incomplete: bool = False, to: dt.date | None = None) -> str:
    """Open the run's branch on every table (this session writes and reads there); its name. The
    run is of a receive day, or of the range `day` .. `to`. A day its producer has not marked
    complete is refused first, unless `allow_incomplete`. On a new lakehouse Bronze is created
    here, and each model's table by the build itself, its rows on the branch (open_branch)."""
    if not allow_incomplete:
        for each in date_range(day, to):
            require_complete(lake, each)
    ensure_bronze_table(spark)
    branch = run_branch(day, to)
    open_branch(spark, branch)
    return branch


def publish_day(spark: SparkSession, lake: Lakehouse, day: dt.date,
                to: dt.date | None = None) -> list[str]:
    """Publish the run's branch (a receive day's, or the range `day` .. `to`): one atomic commit
    per table."""
    return publish(spark, lake, run_branch(day, to))


def day_metrics(lake: Lakehouse, day: dt.date, tests: list[NodeResult], books: Books,
                unpublished_branch: str | None = None) -> Path:
    """Write the receive day's quality-metrics JSON with these test results and its book from
    `books` (read_books); its path."""
    return write_metrics(lake, day, quality_metrics(day, tests, books, unpublished_branch))


def report_days(spark: SparkSession, lake: Lakehouse, days: list[dt.date],
                results: list[NodeResult], not_published: str | None = None
                ) -> dict[dt.date, Path]:
    """Write the quality metrics of every receive day of a run (one day, or a range processed in
    one pass), whatever the run's outcome once dbt has run; each day's file. A published run:
    its days' files, and the files of the other receive days whose books it changed. A run not
    published (a test failed, `not_published` says why, or its branch is still there): its days'
    files, read from its branch, then RunFailed."""
    branch = run_branch(days[0], days[-1])
    # Under the publish lock: no other run publishes between reading a book and writing it.
    with publish_lock(lake):
        if not_published is None and not is_unpublished(spark, branch):
            # Every day's book in one query, not one per day: 30 seed-rate days' metrics took
            # 0.24 s instead of 2.1 s.
            books = read_books(spark)
            paths = {day: day_metrics(lake, day, results, books) for day in days}
            restate_books(lake, books)
            return paths
        use_branch(spark, branch)
        try:
            books = read_books(spark)
            paths = {day: day_metrics(lake, day, results, books, unpublished_branch=branch)
                     for day in days}
        finally:
            close_branch(spark)
    failed = failed_nodes(results)
    reason = (", ".join(failed) if failed
              else not_published or "its tests passed, but it was not published")
    which = days_text(days[0], days[-1])
    where = (str(paths[days[0]]) if len(days) == 1
             else f"{paths[days[0]].parent} (one file per day)")
    raise RunFailed(
        f"{which} was not published: {reason}. The tables are as they were; the new data "
        f"waits on the branch {branch!r} (e.g. select ... from silver.readings version as of "
        f"'{branch}'); metrics in {where}.")


def report_day(spark: SparkSession, lake: Lakehouse, day: dt.date, results: list[NodeResult],
               not_published: str | None = None) -> Path:
    """The receive day's quality metrics (report_days for one day)."""
    return report_days(spark, lake, [day], results, not_published)[day]


def day_metrics_from_artifacts(spark: SparkSession, lake: Lakehouse, day: dt.date,
                               run_results: list[Path], to: dt.date | None = None
                               ) -> dict[dt.date, Path]:
    """The quality metrics of the run's receive days (report_days: `day`, or the range `day` ..
    `to`) with its test results read from dbt's run_results.json files of that run."""
    return report_days(spark, lake, date_range(day, to),
                       test_results_from_artifacts(run_results, day, to))


def run_day(spark: SparkSession, lake: Lakehouse, day: dt.date,
            dbt_vars: dict[str, object] | None = None, allow_incomplete: bool = False) -> DayRun:
    """Ingest, build, audit and publish one receive day, in this process (run_days for one
    day)."""
    run = run_days(spark, lake, [day], dbt_vars, allow_incomplete)
    return DayRun(day, run.bronze_rows[day], run.dbt_results, run.metrics_paths[day],
                  run.timings_s)


def run_days(spark: SparkSession, lake: Lakehouse, days: list[dt.date],
             dbt_vars: dict[str, object] | None = None, allow_incomplete: bool = False) -> Run:
    """Ingest, build, audit and publish receive days, in this process and in one pass: write,
    audit, publish. `days` are consecutive (date_range); a range is one batch: one Bronze write,
    one dbt build over the union of the days' event dates, the tests once, one publish, and the
    metrics of every day. It leaves the tables as running the days one by one in order would.

    Everything is written on the run's branch; when every error-severity test passed, each table
    is published in one commit, then the metrics are written. When a test failed, nothing is
    published, the metrics say so, and RunFailed names the failing nodes. When another run
    published meanwhile, the run starts over from the newer tables, at most PUBLISH_ATTEMPTS
    times."""
    if days != date_range(days[0], days[-1]):
        raise LakehouseError("the receive days of a run must be consecutive, in order")
    if len(days) > MAX_BATCH_DAYS:
        return _run_batches(spark, lake, days, dbt_vars, allow_incomplete)
    for attempt in range(1, PUBLISH_ATTEMPTS + 1):
        try:
            return _run_once(spark, lake, days, dbt_vars or {}, allow_incomplete,
                             last_attempt=attempt == PUBLISH_ATTEMPTS)
        except PublishConflict as conflict:
            which = days_text(days[0], days[-1])
            print(f"{which}: {conflict} Starting over "
                  f"(attempt {attempt + 1} of {PUBLISH_ATTEMPTS}).", flush=True)
    raise AssertionError("unreachable")


def _run_batches(spark: SparkSession, lake: Lakehouse, days: list[dt.date],
                 dbt_vars: dict[str, object] | None, allow_incomplete: bool) -> Run:
    """A range longer than MAX_BATCH_DAYS, as consecutive batches in order, each published on
    its own; a batch that is not published stops the range there (RunFailed), the batches
    before it staying published."""
    if not allow_incomplete:
        for day in days:
            require_complete(lake, day)
    batches = [days[i:i + MAX_BATCH_DAYS] for i in range(0, len(days), MAX_BATCH_DAYS)]
    runs = []
    for number, batch in enumerate(batches, start=1):
        runs.append(run_days(spark, lake, batch, dbt_vars, allow_incomplete))
        print(f"{batch[0]} to {batch[-1]}: published (batch {number} of {len(batches)})",
              flush=True)
    timings: dict[str, float] = {}
    for run in runs:
        for stage, seconds in run.timings_s.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
    return Run(days, {d: n for run in runs for d, n in run.bronze_rows.items()},
               [result for run in runs for result in run.dbt_results],
               {d: p for run in runs for d, p in run.metrics_paths.items()}, timings)


def _run_once(spark: SparkSession, lake: Lakehouse, days: list[dt.date],
              dbt_vars: dict[str, object], allow_incomplete: bool, last_attempt: bool) -> Run:
    first, last = days[0], days[-1]
    timings: dict[str, float] = {}
    not_published = None
    start = time.perf_counter()
    try:
        branch = start_day(spark, lake, first, allow_incomplete, to=last)
        timings["branch"] = time.perf_counter() - start
        log.info("branch %s opened (%.1f s)", branch, timings["branch"])
        start = time.perf_counter()
        bronze_rows = ingest_range(spark, lake, days, allow_incomplete)
        timings["ingest"] = time.perf_counter() - start
        log.info("ingest: %s lines of %s into %s (%.1f s)", f"{sum(bronze_rows.values()):,}",
                 days_text(first, last), BRONZE_TABLE, timings["ingest"])
        start = time.perf_counter()
        # Nothing is published before every test passed: no test holds a model back.
        results = build_day(lake, first, {**dbt_vars, "run_branch": branch}, check=False,
                            to=last, threads=build_threads(sum(bronze_rows.values())),
                            tests_hold_back_models=False)
        timings["dbt_build"] = time.perf_counter() - start
        log.info("dbt build: %s (%.1f s)", _outcomes(results), timings["dbt_build"])
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
        log.info("publish: %s (%.1f s)", f"not published, {not_published}" if not_published
                 else f"{len(PUBLISHED_TABLES)} tables' main now at {branch}",
                 timings["publish"])
    finally:
        close_branch(spark)
    start = time.perf_counter()
    paths = report_days(spark, lake, days, results, not_published)
    timings["metrics"] = time.perf_counter() - start
    log.info("metrics: %d file(s) in %s (%.1f s)", len(paths), lake.metrics_dir,
             timings["metrics"])
    return Run(days, bronze_rows, results, paths, timings)


# The run whose JVM records the class archive: a simulated day of a few readings per device.
ARCHIVE_RUN_DAY = dt.date(2025, 8, 1)
ARCHIVE_RUN_ROWS_PER_DEVICE = 60
_RECORD_CLASSES = """
import sys
from telemetry.jobs import _run_recording_classes
_run_recording_classes(sys.argv[1])
"""


def record_class_archive(lake: Lakehouse) -> Path | None:
    """Record the classes a run's JVM loads into lake.class_archive, once for each Java, pyspark
    and set of jars: a whole run of a small simulated day, in a scratch lakehouse, in a JVM that
    writes the classes it loaded as it exits. Every later JVM of the project maps them from there
    (profiles/profiles.yml) instead of loading and verifying them one by one. The archive's path;
    None, saying why, when the recording failed (Spark then starts as it did without one)."""
    stamp_file = lake.class_archive.with_suffix(".json")
    stamp = _class_archive_stamp(lake)
    if (lake.class_archive.is_file() and stamp_file.is_file()
            and json.loads(stamp_file.read_text(encoding="utf-8")) == stamp):
        return lake.class_archive
    with tempfile.TemporaryDirectory(prefix="telemetry-classes-") as scratch:
        recorded = Path(scratch) / lake.class_archive.name
        env = {**os.environ, "TELEMETRY_HOME": str(lake.home),
               "TELEMETRY_DATA_DIR": f"{scratch}/data", "DBT_TARGET_PATH": f"{scratch}/target",
               "DBT_LOG_PATH": f"{scratch}/logs", "SPARK_LOCAL_IP": LOOPBACK}
        env.pop("TELEMETRY_DBT_TARGET", None)
        done = subprocess.run([sys.executable, "-c", _RECORD_CLASSES, str(recorded)], env=env,
                              cwd=lake.home, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not recorded.is_file():
            last = "\n".join((done.stdout + done.stderr).splitlines()[-10:])
            print(f"warning: could not record Spark's class archive ({lake.class_archive}); "
                  f"Spark starts without it. The recording run's last lines:\n{last}",
                  file=sys.stderr)
            return None
        # Into place in one step: a JVM starting meanwhile maps the old archive or the new one.
        partial = lake.class_archive.with_suffix(".partial")
        shutil.copyfile(recorded, partial)
        os.replace(partial, lake.class_archive)
    stamp_file.write_text(json.dumps(stamp) + "\n", encoding="utf-8")
    return lake.class_archive


def _class_archive_stamp(lake: Lakehouse) -> dict[str, object]:
    """What the class archive was recorded for: the Java, pyspark and the jars (the class path's
    jar as the JVM checks it, by size and time)."""
    import pyspark

    jar = lake.file_system_jar
    found = jar.stat() if jar.is_file() else None
    class_path = [jar.name, found.st_size, found.st_mtime_ns] if found else None
    return {"java": java_version_text(), "pyspark": pyspark.__version__,
            "jars": sorted(path.name for path in lake.jar_files()), "class_path": class_path}


def _run_recording_classes(archive: str) -> None:
    """The recording run (record_class_archive starts it in a process of its own)."""
    lake = lakehouse()
    generate_days(lake, ARCHIVE_RUN_DAY, rows_per_device=ARCHIVE_RUN_ROWS_PER_DEVICE)
    options = re.sub(r"-XX:SharedArchiveFile=\S+", f"-XX:ArchiveClassesAtExit={archive}",
                     spark_conf(lake)["spark.driver.extraJavaOptions"])
    spark = spark_session(lake, {"spark.driver.extraJavaOptions": options})
    jvm = spark.sparkContext._gateway.proc
    run_day(spark, lake, ARCHIVE_RUN_DAY)
    spark.stop()
    # The JVM exits once its input ends, and writes the archive as it exits.
    jvm.stdin.close()
    jvm.wait()


def _outcomes(results: list[NodeResult]) -> str:
    """`6 models, 22 tests (21 pass, 1 warn)`: what a dbt build ran and how it ended."""
    kinds = Counter(r.resource_type for r in results
                    if r.resource_type in {"model", "seed", "snapshot", "test", "unit_test"})
    statuses = Counter(r.status for r in results if r.resource_type in {"test", "unit_test"})
    ran = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(kinds.items()))
    ended = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    return f"{ran} ({ended})" if ended else ran
