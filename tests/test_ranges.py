"""A range of receive days processed in one pass (`telemetry run --date A --to B`): one Bronze
write, one dbt build over the union of the days' event dates, the tests once, one publish, and
every day's metrics. Its tables equal the plain-Python reference over the raw files, and running
the same days one by one afterwards leaves every table and every metrics file as the range
left them."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ingest.bronze import BRONZE_TABLE
from ingest.layout import day_folder
from telemetry.jobs import date_range, run_day, run_days
from telemetry.pipeline.publish import ref_snapshot
from telemetry.pipeline.registry import REGISTRY_PATH, load_registry
from telemetry.simulator import generate
from tests import reference
from tests.conftest import assert_gold_row, table_rows

pytestmark = pytest.mark.spark

DAYS = date_range(dt.date(2026, 6, 1), dt.date(2026, 6, 3))
BRANCH = "run_20260601_20260603"
# The days' rows: received in the range, or (Gold) an event date one of them can hold.
RECEIVED = f"received_on between date'{DAYS[0]}' and date'{DAYS[-1]}'"
EVENT_DATES = f"event_date between date'{DAYS[0] - dt.timedelta(days=1)}' and date'{DAYS[-1]}'"
TABLES = {
    "bronze": f"select received_on, source_file, line_number, raw_line from {BRONZE_TABLE} "
              f"where {RECEIVED}",
    "readings": "select device_id, site_id, reading_at, status, power_w, soc_percent, "
                "temperature_c, is_anomaly, received_on, source_file, line_number, "
                f"copies_received from silver.readings where {EVENT_DATES}",
    "quarantine": "select received_on, source_file, line_number, rejection_reason, raw_line "
                  f"from silver.quarantine where {RECEIVED}",
    "reconciliation": f"select * from silver.receive_day_reconciliation where {RECEIVED}",
    "event_dates": f"select * from silver.int_receive_day_event_dates where {RECEIVED}",
    "gold": f"select * from gold.site_daily_kpis where {EVENT_DATES}",
}


def tables(spark) -> dict[str, list[tuple]]:
    return {name: table_rows(spark, query) for name, query in TABLES.items()}


def metrics_files(lake) -> dict[dt.date, dict]:
    return {day: json.loads((lake.metrics_dir / f"quality_{day}.json").read_text())
            for day in DAYS}


@pytest.fixture(scope="module")
def ranged(spark, lake):
    """Three days, the last re-sending a reading of the first with another power value (so the
    first day's book changes within the range); run as one range, then one by one."""
    generate(lake.raw_dir, load_registry(), DAYS[0], days=len(DAYS), rows_per_device=48,
             seed=23)
    first_file = day_folder(lake.raw_dir, DAYS[0]) / "angleton-tx" / "mp-angleton-01.jsonl"
    original = next(json.loads(line) for line in first_file.read_text().splitlines()[5:]
                    if line.endswith("}"))
    copy = {**original, "power_w": 1234.5}
    last_file = day_folder(lake.raw_dir, DAYS[-1]) / "angleton-tx" / "mp-angleton-01.jsonl"
    last_file.write_text(last_file.read_text() + json.dumps(copy) + "\n")

    run = run_days(spark, lake, DAYS)
    state = {"run": run, "copy": copy, "range": tables(spark),
             "range_metrics": metrics_files(lake),
             "branch_left": ref_snapshot(spark, BRONZE_TABLE, BRANCH)}
    for day in DAYS:
        run_day(spark, lake, day)
    state["one_by_one"] = tables(spark)
    state["one_by_one_metrics"] = metrics_files(lake)
    lines = reference.raw_lines(lake.raw_dir, set(DAYS))
    state["expected"] = reference.silver(lines, reference.registry(REGISTRY_PATH))
    state["expected_books"] = reference.books(lines, state["expected"])
    return state


def test_the_range_is_one_build_and_one_publish(ranged):
    run = ranged["run"]
    assert run.days == DAYS
    # One dbt build: each model once (six models, the seed), each test once.
    models = [r.name for r in run.dbt_results if r.resource_type == "model"]
    assert sorted(models) == sorted(set(models)) and len(models) == 6
    assert {r.status for r in run.dbt_results} <= {"success", "pass", "no-op"}
    # Published: the branch of the range is gone, and each day has its metrics file.
    assert ranged["branch_left"] is None
    assert set(run.metrics_paths) == set(DAYS)


def test_the_range_equals_the_reference(ranged):
    expected = ranged["expected"]
    readings = {(row[0], row[2]): row for row in ranged["range"]["readings"]}
    assert readings.keys() == expected.readings.keys()
    for key, reading in expected.readings.items():
        row = readings[key]
        assert (row[1], row[3], row[4], row[5], row[6], row[7]) == (
            reading.site_id, reading.status, reading.power_w, reading.soc_percent,
            reading.temperature_c, reading.is_anomaly)
        assert (row[8], row[9], row[10]) == (reading.received_on, reading.source_file,
                                             reading.line_number)
    # Late readings: a day of the range holds readings of an earlier day's event date.
    assert any(r.event_date < r.received_on for r in expected.readings.values())
    # The last day's copy of the first day's reading won.
    kept = readings[(ranged["copy"]["device_id"],
                     reference.timestamp(ranged["copy"]["ts"]))]
    assert (kept[4], kept[8], kept[11]) == (1234.5, DAYS[-1], 2)
    quarantine = sorted((line.received_on, line.source_file, line.line_number, reason, line.text)
                        for line, reason in expected.rejected)
    assert ranged["range"]["quarantine"] == quarantine


def test_the_range_gold_equals_the_reference(ranged):
    devices = reference.registry(REGISTRY_PATH)
    columns = ["energy_wh_total", "peak_power_w", "avg_temp_c", "uptime_percent",
               "anomaly_count", "readings_count", "devices_reporting", "devices_registered"]
    gold = {(row[8], row[9]): dict(zip(columns, row[:8], strict=True))
            for row in ranged["range"]["gold"]}
    readings = list(ranged["expected"].readings.values())
    # The dates the range owns: its receive days and every event date of their readings.
    event_dates = sorted(set(DAYS) | {reading.event_date for reading in readings})
    assert {day for day, _ in gold} == set(event_dates)
    for event_date in event_dates:
        for site, values in reference.gold(readings, devices, event_date).items():
            row = gold[(event_date, site)]
            assert_gold_row(row, values, (event_date, site))


def test_every_day_of_the_range_has_its_own_book(ranged):
    for day, want in ranged["expected_books"].items():
        got = ranged["range_metrics"][day]
        for key in ("bronze_rows", "silver_rows", "duplicates_dropped", "rejected_rows"):
            assert got[key] == want[key], (day, key)
        assert got["receive_date"] == day.isoformat()
        assert got["lost_rows"] == 0
    # The re-sent reading: one more duplicate on the first day, one more reading on the last.
    assert ranged["range_metrics"][DAYS[0]]["duplicates_dropped"] >= 1
    assert ranged["run"].bronze_rows == {day: want["bronze_rows"]
                                         for day, want in ranged["expected_books"].items()}


def test_running_the_days_one_by_one_leaves_the_same_tables(ranged):
    for name, rows in ranged["range"].items():
        assert rows, name
        if name == "bronze":
            continue  # re-ingested: the same lines (compared), another ingested_at
        assert ranged["one_by_one"][name] == rows, name
    assert ranged["one_by_one"]["bronze"] == ranged["range"]["bronze"]


def test_running_the_days_one_by_one_writes_the_same_metrics_files(ranged):
    for day in DAYS:
        by_range, one_by_one = ranged["range_metrics"][day], ranged["one_by_one_metrics"][day]
        # Every count, the status and every test's result; a day's own tests ran once per day
        # instead of once for the range, so only their names and outcomes can be compared.
        assert {k: v for k, v in by_range.items() if k != "dbt_tests"} == \
            {k: v for k, v in one_by_one.items() if k != "dbt_tests"}, day
        assert [(t["name"], t["status"], t["failures"]) for t in by_range["dbt_tests"]] == \
            [(t["name"], t["status"], t["failures"]) for t in one_by_one["dbt_tests"]], day


def test_a_range_longer_than_a_batch_runs_as_consecutive_batches(monkeypatch, lake, tmp_path):
    from telemetry import jobs
    from telemetry.pipeline.dbt import NodeResult

    days = date_range(dt.date(2027, 1, 1), dt.date(2027, 1, 5))
    batches = []

    def run_once(spark, lake, batch, dbt_vars, allow_incomplete, last_attempt):
        batches.append(batch)
        if batch[0] == days[4]:
            raise jobs.RunFailed(f"{batch[0]} was not published")
        return jobs.Run(batch, {day: day.day for day in batch},
                        [NodeResult(f"test.p.t{batch[0].day}", "t", "test", "pass", 0, None)],
                        {day: tmp_path / f"{day}.json" for day in batch}, {"ingest": 1.0})

    monkeypatch.setattr(jobs, "MAX_BATCH_DAYS", 2)
    monkeypatch.setattr(jobs, "_run_once", run_once)
    run = jobs.run_days(None, lake, days[:4], allow_incomplete=True)
    assert batches == [days[0:2], days[2:4]]
    assert run.days == days[:4]
    assert run.bronze_rows == {day: day.day for day in days[:4]}
    assert set(run.metrics_paths) == set(days[:4])
    assert run.timings_s == {"ingest": 2.0}
    # A batch that is not published stops the range there; the batches before it stay published.
    batches.clear()
    with pytest.raises(jobs.RunFailed, match="2027-01-05 was not published"):
        jobs.run_days(None, lake, days, allow_incomplete=True)
    assert batches == [days[0:2], days[2:4], days[4:]]
