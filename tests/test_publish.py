"""Write, audit, publish on the embedded engine: a day whose tests fail publishes nothing of it;
a reader in another process never sees a day half replaced; a rollback restores a version.

The expected values come from the raw files and from the tables as they were before each step,
never from the code under test."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import Counter

import pytest

from ingest.layout import BRONZE_TABLE, day_folder
from telemetry.jobs import RunFailed, run_day
from telemetry.pipeline.dbt import parse_ahead, run_dbt
from telemetry.pipeline.history import maintain, rollback, snapshots
from telemetry.pipeline.publish import close_branch, open_branch
from telemetry.pipeline.readers import iceberg_catalog, read_event_dates
from telemetry.pipeline.registry import REGISTRY_PATH, load_registry
from telemetry.pipeline.tables import PUBLISHED_TABLES
from telemetry.settings import CATALOG_NAME, PROJECT_DIR, Lakehouse, LakehouseError
from telemetry.simulator import generate
from tests import reference
from tests.conftest import assert_gold_row, table_rows

pytestmark = pytest.mark.spark

DAY = dt.date(2026, 1, 20)
BRANCH = "run_20260120"
GOLD = "gold.site_daily_kpis"
EVENT_DATES = f"date'{DAY - dt.timedelta(days=1)}', date'{DAY}'"
QUERIES = {
    "bronze": "select source_file, line_number, raw_line from bronze.raw_telemetry "
              f"where received_on = date'{DAY}'",
    "readings": "select device_id, reading_at, power_w, soc_percent, received_on, source_file "
                f"from silver.readings where event_date in ({EVENT_DATES})",
    "quarantine": "select source_file, line_number, rejection_reason from silver.quarantine "
                  f"where received_on = date'{DAY}'",
    "reconciliation": "select bronze_rows, silver_rows, duplicates_dropped, rejected_rows "
                      f"from silver.receive_day_reconciliation where received_on = date'{DAY}'",
    "gold": "select event_date, site_id, readings_count, energy_wh_total, uptime_percent "
            f"from {GOLD} where event_date in ({EVENT_DATES})",
}


def day_tables(spark) -> dict[str, list[tuple]]:
    return {name: table_rows(spark, query) for name, query in QUERIES.items()}


def raw_line_count(lake) -> int:
    """Non-blank lines in the day's raw files, counted from the files themselves."""
    return sum(1 for path in day_folder(lake.raw_dir, DAY).rglob("*.jsonl")
               for line in path.read_text().splitlines() if line.strip())


@pytest.fixture(scope="module")
def published(spark, lake):
    generate(lake.raw_dir, load_registry(), DAY, rows_per_device=48, seed=11)
    run_day(spark, lake, DAY)
    return day_tables(spark)


def test_a_day_failing_a_quality_gate_publishes_nothing_of_it(published, spark, lake):
    assert published["readings"] and published["gold"]
    path = next(iter(sorted(day_folder(lake.raw_dir, DAY).rglob("*.jsonl"))))
    original = path.read_bytes()
    # A tenth of the day's lines more, none of them JSON: past the 5% rejected-lines gate.
    garbage = raw_line_count(lake) // 10
    path.write_bytes(original + b"".join(b"garbled %d\n" % i for i in range(garbage)))
    try:
        with pytest.raises(RunFailed, match=f"gate_rejected_share.*{BRANCH}"):
            run_day(spark, lake, DAY)
        # Every table is as it was: Bronze, Silver, Gold and the books.
        assert day_tables(spark) == published
        # The metrics say what happened, from the unpublished data.
        metrics = json.loads((lake.metrics_dir / f"quality_{DAY}.json").read_text())
        assert metrics["status"] == "failed"
        assert metrics["unpublished_branch"] == BRANCH
        assert metrics["bronze_rows"] == raw_line_count(lake)
        tests = {t["name"]: t for t in metrics["dbt_tests"]}
        gate = tests["gate_rejected_share"]
        assert gate["status"] == "fail"
        assert "failing_rows" not in tests["reconciliation_no_accepted_line_lost"]
        # Its failing rows, read where the metrics say, on the run's branch: the day's book.
        spark.conf.set("spark.wap.branch", BRANCH)
        try:
            failing = spark.sql(gate["failing_rows"]).collect()
        finally:
            spark.conf.unset("spark.wap.branch")
        assert [(r["received_on"], r["bronze_rows"]) for r in failing] == [
            (DAY, raw_line_count(lake))]
        assert failing[0]["rejected_rows"] >= garbage
        # The new data waits on the run's branch for the operator.
        on_branch = table_rows(spark, "select count(*), count_if(raw_line like 'garbled %') "
                                      f"from bronze.raw_telemetry version as of '{BRANCH}' "
                                      f"where received_on = date'{DAY}'")
        assert on_branch == [(raw_line_count(lake), garbage)]
    finally:
        path.write_bytes(original)


def test_a_failed_check_holds_no_model_back_on_the_branch_and_publishes_nothing(
        published, spark, lake, monkeypatch):
    """A run's build on its branch builds and tests every node even when a test of a node's
    parents failed (nothing is published unless every test passed): here a Bronze line without
    its text fails Bronze's checks, and Silver, Gold and all their tests still run."""
    from telemetry import jobs

    ingested = jobs.ingest_range
    first_file = sorted(day_folder(lake.raw_dir, DAY).rglob("*.jsonl"))[0]
    source_file = first_file.relative_to(lake.raw_dir).as_posix()

    def ingest_and_add_a_line_without_text(*args, **kwargs):
        rows = ingested(*args, **kwargs)
        # On the run's branch (the session writes there): line 100000 of a real file, no text.
        spark.sql("insert into bronze.raw_telemetry (raw_line, source_file, line_number, "
                  "ingested_at, received_on) "
                  f"values (null, '{source_file}', 100000, current_timestamp(), date'{DAY}')")
        return rows

    monkeypatch.setattr(jobs, "ingest_range", ingest_and_add_a_line_without_text)
    with pytest.raises(RunFailed, match=f"raw_telemetry_column_checks.*{BRANCH}"):
        run_day(spark, lake, DAY)
    assert day_tables(spark) == published
    metrics = json.loads((lake.metrics_dir / f"quality_{DAY}.json").read_text())
    assert metrics["status"] == "failed"
    assert metrics["bronze_rows"] == raw_line_count(lake) + 1
    tests = {t["name"]: t["status"] for t in metrics["dbt_tests"]}
    assert tests["raw_telemetry_column_checks"] == "fail"
    assert "skipped" not in tests.values()
    # Downstream of the failed check, Silver's and Gold's tests ran and passed on the branch.
    for name in ("readings_one_row_per_device_and_time", "assert_gold_consistent_with_silver",
                 "reconciliation_bronze_equals_silver_duplicates_rejected"):
        assert tests[name] == "pass"
    # And the line was classified there like any line that is no JSON object.
    assert table_rows(spark, "select rejection_reason from silver.quarantine "
                             f"version as of '{BRANCH}' where received_on = date'{DAY}' "
                             f"and source_file = '{source_file}' and line_number = 100000"
                      ) == [("malformed_json",)]


def test_a_dbt_that_builds_its_graph_otherwise_is_refused_clearly(monkeypatch):
    from dbt.task.build import BuildTask

    from telemetry.pipeline.dbt import tests_beside_models

    monkeypatch.delattr(BuildTask, "compile_manifest")
    refused = pytest.raises(LakehouseError, match=r"dbt-core 1\.11\.\d+ builds its graph "
                                                  r"differently.*make install")
    with refused, tests_beside_models():
        pass


POLLER = r"""
import json, sys, time, datetime as dt
from pyiceberg.expressions import EqualTo
from telemetry.pipeline.readers import iceberg_catalog
from telemetry.settings import lakehouse
lake, day, stop = lakehouse(), sys.argv[1], sys.argv[2]
import pathlib
catalog = iceberg_catalog(lake)
deadline = time.monotonic() + 900
while time.monotonic() < deadline:
    readings = catalog.load_table("silver.readings").scan(
        row_filter=EqualTo("event_date", day), selected_fields=("device_id",)).to_arrow()
    gold = catalog.load_table("gold.site_daily_kpis").scan(
        row_filter=EqualTo("event_date", day),
        selected_fields=("site_id", "readings_count")).to_arrow().to_pylist()
    print(json.dumps({"readings": readings.num_rows, "gold_sites": len(gold),
                      "gold_readings": sum(r["readings_count"] for r in gold)}), flush=True)
    if pathlib.Path(stop).exists():
        break
    time.sleep(0.2)
"""


def counts(spark) -> dict[str, int]:
    return {
        "readings": table_rows(spark, "select count(*) from silver.readings "
                                      f"where event_date = date'{DAY}'")[0][0],
        "gold_sites": table_rows(spark, f"select count(*) from {GOLD} "
                                        f"where event_date = date'{DAY}'")[0][0],
        "gold_readings": table_rows(spark, f"select sum(readings_count) from {GOLD} "
                                           f"where event_date = date'{DAY}'")[0][0],
    }


def test_a_reader_in_another_process_never_sees_a_partial_day(published, spark, lake,
                                                              tmp_path):
    before = counts(spark)
    removed = sorted(day_folder(lake.raw_dir, DAY).rglob("*.jsonl"))[-1]
    removed.rename(tmp_path / removed.name)
    stop = tmp_path / "stop"
    poller = subprocess.Popen([sys.executable, "-c", POLLER, DAY.isoformat(), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)
        run_day(spark, lake, DAY)
        time.sleep(2)
    finally:
        stop.touch()
        out, err = poller.communicate(timeout=120)
        (tmp_path / removed.name).rename(removed)
    after = counts(spark)
    seen = [json.loads(line) for line in out.splitlines()]
    assert poller.returncode == 0, err[-3000:]
    assert before["readings"] > after["readings"] and after["gold_sites"] == before["gold_sites"]
    # Polled throughout the run: the first look saw the old day, the last the new one, and
    # every look in between one of the two, table by table; never an empty or half-built day.
    assert len(seen) >= 5
    assert seen[0] == before and seen[-1] == after
    for look in seen:
        for key in look:
            assert look[key] in {before[key], after[key]}, (key, look, before, after)


def table_versions(spark) -> dict[str, dict[str, int]]:
    """Every published table's branches and the snapshot each points to."""
    return {table: {r[0]: r[1] for r in spark.sql(
                f"select name, snapshot_id from {CATALOG_NAME}.{table}.refs").collect()}
            for table in PUBLISHED_TABLES}


def every_table(spark) -> dict[str, list[str]]:
    """Every row of every table the runs publish, as sorted text (maps do not sort)."""
    return {table: sorted(str(tuple(row)) for row in spark.sql(f"select * from {table}").collect())
            for table in PUBLISHED_TABLES}


def test_a_build_started_from_a_parse_made_ahead_judges_the_day_with_its_own_vars(published,
                                                                                 lake):
    """parse_ahead parses the project in a thread while a run does other work, and the next
    build with the same vars starts from that parse; a build with other vars parses itself.
    Either way a build's tests see the vars it was given: a gate asking that no line at all be
    rejected fails on this day, which has rejected lines, and the default gate passes."""
    assert published["quarantine"]
    gate = ["build", "--select", "gate_rejected_share"]
    strict = {"max_rejected_share": 0}

    def outcome(extra_vars: dict[str, object]) -> list[tuple[str, str]]:
        return [(r.name, r.status) for r in run_dbt(lake, gate, DAY, extra_vars, check=False)
                if r.resource_type == "test"]

    interval = sys.getswitchinterval()
    parse_ahead(lake, strict)
    assert outcome({}) == [("gate_rejected_share", "pass")]
    assert outcome(strict) == [("gate_rejected_share", "fail")]
    parse_ahead(lake)
    assert outcome({}) == [("gate_rejected_share", "pass")]
    # The thread switch interval, shortened while a parse runs, is back once both are done.
    assert sys.getswitchinterval() == interval


def test_an_empty_build_changes_no_table(published, spark, lake):
    """`dbt build --empty` is how a dbt user checks the SQL of a project (on a new lakehouse it
    makes the tables, empty, on `main`): it reads no rows, so it processes no day. Run here for
    the built day, on a branch, it leaves every table as `main` holds it, and commits nothing: no
    day's partitions emptied (the staging and quarantine models empty theirs first), no event
    dates, no book (an empty one, all zeros) written for it."""
    book = table_rows(spark, QUERIES["reconciliation"])
    assert len(book) == 1 and book[0][0] > 0
    before = every_table(spark)
    assert all(before.values())
    branch = "run_empty_build"
    try:
        open_branch(spark, branch)
        run_dbt(lake, ["build", "--empty", "--resource-type", "model"], DAY,
                {"run_branch": branch})
        assert every_table(spark) == before
        # Not even a commit of the same rows: the branch of every table is still `main`.
        moved = [table for table, refs in table_versions(spark).items()
                 if refs[branch] != refs["main"]]
        assert moved == []
    finally:
        close_branch(spark)
        for table in PUBLISHED_TABLES:
            spark.sql(f"alter table {CATALOG_NAME}.{table} drop branch if exists {branch}")


def test_rollback_restores_the_previous_gold_exactly(published, spark, lake):
    current = snapshots(spark, GOLD)[-1]["snapshot_id"]
    gold_before = table_rows(spark, QUERIES["gold"])
    # Another version of the day: one more device went silent.
    path = sorted(day_folder(lake.raw_dir, DAY).rglob("*.jsonl"))[0]
    original = path.read_bytes()
    path.write_bytes(b"")
    try:
        run_day(spark, lake, DAY)
    finally:
        path.write_bytes(original)
    assert table_rows(spark, QUERIES["gold"]) != gold_before
    assert rollback(spark, GOLD, str(current)) == current
    assert table_rows(spark, QUERIES["gold"]) == gold_before


def test_maintenance_expires_old_versions_and_keeps_the_current_one(published, spark):
    gold_now = table_rows(spark, QUERIES["gold"])
    assert len(snapshots(spark, GOLD)) > 1
    done = maintain(spark, keep_days=0, retain_last=1)
    assert done[GOLD]["data_files_deleted"] > 0
    # What is left: main's current version, and those a run's branch still points to (another
    # module's failed run keeps its branch for the operator).
    kept = {r[0] for r in spark.sql(f"select snapshot_id from lake.{GOLD}.snapshots").collect()}
    refs = {r[0]: r[1] for r in spark.sql(f"select name, snapshot_id from lake.{GOLD}.refs")
            .collect()}
    assert kept == set(refs.values())
    assert refs["main"] == snapshots(spark, GOLD)[-1]["snapshot_id"]
    assert table_rows(spark, QUERIES["gold"]) == gold_now
    with pytest.raises(LakehouseError, match="at least the last snapshot"):
        maintain(spark, retain_last=0)


@pytest.mark.parametrize(("table", "to", "message"), [
    (GOLD, "12345", "has no snapshot 12345"),
    (GOLD, "last tuesday", "neither a snapshot id nor a time"),
    ("gold.nope", "1", "is not a table of the lakehouse"),
])
def test_a_rollback_it_cannot_do_is_refused_clearly(published, spark, table, to, message):
    with pytest.raises(LakehouseError, match=message):
        rollback(spark, table, to)


def table_property(spark, table: str, key: str) -> str | None:
    return dict(spark.sql(f"show tblproperties {table}").collect()).get(key)


def test_a_table_made_before_a_write_property_gets_it_when_a_run_opens_its_branch(published,
                                                                                   spark):
    row_group_size, two_mib = "write.parquet.row-group-size-bytes", "2097152"  # 2 x 1024 x 1024
    open_file_cost, one_mib = "read.split.open-file-cost", "1048576"
    assert table_property(spark, "bronze.raw_telemetry", row_group_size) == two_mib
    # Bronze made by the ingest, the model's table by dbt: both with the read setting.
    assert table_property(spark, "bronze.raw_telemetry", open_file_cost) == one_mib
    assert table_property(spark, "silver.readings", open_file_cost) == one_mib
    # As a lakehouse made before Bronze had the setting, and the models the read setting.
    spark.sql(f"alter table bronze.raw_telemetry unset tblproperties ('{row_group_size}')")
    spark.sql(f"alter table silver.readings unset tblproperties ('{open_file_cost}')")
    assert table_property(spark, "bronze.raw_telemetry", row_group_size) is None
    assert table_property(spark, "silver.readings", open_file_cost) is None
    try:
        open_branch(spark, "run_properties")
        assert table_property(spark, "bronze.raw_telemetry", row_group_size) == two_mib
        assert table_property(spark, "silver.readings", "write.wap.enabled") == "true"
        assert table_property(spark, "silver.readings", open_file_cost) == one_mib
    finally:
        close_branch(spark)
        for table in PUBLISHED_TABLES:
            spark.sql(f"alter table {CATALOG_NAME}.{table} drop branch if exists run_properties")


KILLED = dt.date(2026, 2, 10)
KILLED_BRANCH = "run_20260210"
GOLD_OF_KILLED = (f"select * from {GOLD} where event_date in "
                  f"(date'{KILLED - dt.timedelta(days=1)}', date'{KILLED}')")


def killed_day_tables(spark) -> dict[str, list[tuple]]:
    return {
        "bronze": table_rows(spark, "select count(*) from bronze.raw_telemetry "
                                    f"where received_on = date'{KILLED}'"),
        "readings": table_rows(spark, "select device_id, reading_at, power_w from silver.readings "
                                      f"where received_on = date'{KILLED}'"),
        "gold": table_rows(spark, GOLD_OF_KILLED),
    }


def wait_for(condition, what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def branch_opened(lake) -> bool:
    """Whether the run has opened its branch on every table (then it lands Bronze at once)."""
    from telemetry.pipeline.readers import iceberg_catalog

    return KILLED_BRANCH in iceberg_catalog(lake).load_table(GOLD).metadata.refs


def test_a_run_killed_midway_publishes_nothing_and_a_rerun_completes_it(spark, lake):
    generate(lake.raw_dir, load_registry(), KILLED, rows_per_device=48, seed=5)
    run_day(spark, lake, KILLED)
    published = killed_day_tables(spark)
    # A new version of the day to publish: one device's file is gone.
    sorted(day_folder(lake.raw_dir, KILLED).rglob("*.jsonl"))[0].unlink()
    command = [sys.executable, "-m", "telemetry.cli", "run", "--date", str(KILLED),
               "--no-show-kpis"]
    # Killed while Bronze is written (its branch just opened) ...
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: branch_opened(lake) or run.poll() is not None, "the run's branch")
    run.kill()
    run.wait()
    assert killed_day_tables(spark) == published
    # ... and while dbt builds Silver.
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in run.stdout:
        if "START sql incremental model silver.readings" in line:
            break
    run.kill()
    run.wait()
    assert killed_day_tables(spark) == published
    # A rerun publishes the new version: Gold as the plain-Python reference computes it.
    run_day(spark, lake, KILLED)
    devices = reference.registry(REGISTRY_PATH)
    readings = list(reference.silver(reference.raw_lines(lake.raw_dir, {KILLED}), devices)
                    .readings.values())
    gold = {(r["event_date"], r["site_id"]): r.asDict()
            for r in spark.sql(GOLD_OF_KILLED).collect()}
    for event_date in (KILLED - dt.timedelta(days=1), KILLED):
        for site, values in reference.gold(readings, devices, event_date).items():
            for column, value in values.items():
                got = gold[(event_date, site)][column]
                if value is None or isinstance(value, int):
                    assert got == value, (event_date, site, column)
                else:
                    assert got == pytest.approx(value, rel=1e-9, abs=1e-6), (event_date, site)
    assert killed_day_tables(spark)["gold"] != published["gold"]


FIRST_DAY = dt.date(2026, 2, 16)
FIRST_BRANCH = "run_20260216"


def test_a_new_lakehouses_first_day_is_audited_on_its_branch_like_any_other(tmp_path):
    """On a new lakehouse the build makes each model's table itself, its rows on the run's
    branch: a first day failing a quality gate leaves every table empty on `main` and the day on
    the branch; run again once its files are fixed, the day is published."""
    new = Lakehouse(home=PROJECT_DIR, data_dir=tmp_path / "data")
    generate(new.raw_dir, load_registry(), FIRST_DAY, rows_per_device=24, seed=17)
    path = sorted(day_folder(new.raw_dir, FIRST_DAY).rglob("*.jsonl"))[0]
    original = path.read_bytes()
    lines = len(reference.raw_lines(new.raw_dir, {FIRST_DAY}))
    # A tenth of the day's lines more, none of them JSON: past the 5% rejected-lines gate.
    garbage = lines // 10
    path.write_bytes(original + b"".join(b"garbled %d\n" % i for i in range(garbage)))
    command = [sys.executable, "-m", "telemetry.cli", "run", "--date", str(FIRST_DAY),
               "--no-show-kpis"]
    env = {**os.environ, "TELEMETRY_DATA_DIR": str(new.data_dir)}
    failed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600,
                            check=False)
    assert failed.returncode == 2, failed.stderr[-3000:]
    assert "was not published: gate_rejected_share" in failed.stderr
    assert "Traceback" not in failed.stderr
    catalog = iceberg_catalog(new)
    devices = reference.registry(REGISTRY_PATH)
    outcome = reference.silver(reference.raw_lines(new.raw_dir, {FIRST_DAY}), devices)
    for table in PUBLISHED_TABLES:
        # Every table exists; nothing of the day is on `main`.
        assert catalog.load_table(table).scan().to_arrow().num_rows == 0, table

    def on_branch(table: str, *columns: str) -> list[dict[str, object]]:
        loaded = catalog.load_table(table)
        snapshot = loaded.snapshot_by_name(FIRST_BRANCH)
        assert snapshot is not None, table
        return loaded.scan(snapshot_id=snapshot.snapshot_id,
                           selected_fields=columns).to_arrow().to_pylist()

    assert len(on_branch(BRONZE_TABLE, "line_number")) == lines + garbage
    assert len(on_branch("silver.readings", "device_id")) == len(outcome.readings)
    assert Counter(r["rejection_reason"] for r in on_branch("silver.quarantine",
                                                              "rejection_reason")) == \
        Counter(reason for _, reason in outcome.rejected)
    metrics = json.loads((new.metrics_dir / f"quality_{FIRST_DAY}.json").read_text())
    assert (metrics["status"], metrics["unpublished_branch"]) == ("failed", FIRST_BRANCH)
    assert metrics["bronze_rows"] == lines + garbage

    path.write_bytes(original)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    readings = list(reference.silver(reference.raw_lines(new.raw_dir, {FIRST_DAY}), devices)
                    .readings.values())
    catalog = iceberg_catalog(new)
    assert catalog.load_table("silver.readings").scan().to_arrow().num_rows == len(readings)
    event_dates = [FIRST_DAY - dt.timedelta(days=1), FIRST_DAY]
    gold = {(r["event_date"], r["site_id"]): r
            for r in read_event_dates(new, GOLD, event_dates).to_pylist()}
    want = {(event_date, site): values for event_date in event_dates
            for site, values in reference.gold(readings, devices, event_date).items()}
    assert set(gold) == set(want)
    for key, values in want.items():
        assert_gold_row(gold[key], values, key)
    assert catalog.load_table(BRONZE_TABLE).snapshot_by_name(FIRST_BRANCH) is None
