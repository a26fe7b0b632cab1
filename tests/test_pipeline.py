"""The lakehouse end to end on the embedded engine, checked against the generator's manifest and
a plain-Python reference calculation over the raw files (tests/reference.py)."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingest.bronze import BRONZE_TABLE
from telemetry.jobs import ingest, run_day
from telemetry.pipeline.dbt import run_dbt
from telemetry.pipeline.readers import iceberg_catalog, read_event_dates
from telemetry.pipeline.registry import REGISTRY_PATH, load_registry
from telemetry.settings import LakehouseError
from telemetry.simulator import DayManifest, generate
from tests import reference
from tests.conftest import assert_gold_row, files_under, table_rows

pytestmark = pytest.mark.spark

D1 = dt.date(2025, 8, 1)
D2 = dt.date(2025, 8, 2)
ROWS_PER_DEVICE = 288

SILVER_COLUMNS = (
    "device_id, site_id, device_type, status, power_w, soc_percent, temperature_c, "
    "is_power_capped, is_soc_out_of_range, is_temperature_out_of_range, is_anomaly, "
    "received_on, source_file, line_number, copies_received, event_date, reading_at"
)
GOLD_COLUMNS = (
    "event_date, site_id, energy_wh_total, peak_power_w, avg_temp_c, uptime_percent, "
    "anomaly_count, readings_count, devices_reporting, devices_registered"
)
QUARANTINE_COLUMNS = "received_on, source_file, line_number, rejection_reason, raw_line"


@dataclass
class Snapshot:
    readings: list[tuple]
    quarantine: list[tuple]
    gold: list[tuple]
    reconciliation: list[tuple]


# This module's days; other modules use other days of the shared lakehouse.
MINE = f"received_on in (date'{D1}', date'{D2}')"
MY_EVENT_DATES = f"event_date between date'{D1 - dt.timedelta(days=1)}' and date'{D2}'"


def snapshot(spark) -> Snapshot:
    return Snapshot(
        readings=table_rows(spark, f"select {SILVER_COLUMNS} from silver.readings where {MINE}"),
        quarantine=table_rows(
            spark, f"select {QUARANTINE_COLUMNS} from silver.quarantine where {MINE}"),
        gold=table_rows(
            spark, f"select {GOLD_COLUMNS} from gold.site_daily_kpis where {MY_EVENT_DATES}"),
        reconciliation=table_rows(
            spark,
            "select received_on, bronze_rows, silver_rows, duplicates_dropped, rejected_rows, "
            f"lost_rows, late_rows from silver.receive_day_reconciliation where {MINE}",
        ),
    )


@dataclass
class Runs:
    manifests: dict[dt.date, DayManifest]
    after_d1: Snapshot
    after_d2: Snapshot
    after_d1_again: Snapshot
    metrics_first: bytes
    metrics_again: bytes
    d2_files_before: dict[str, float]
    d2_files_after: dict[str, float]


def _d2_partition_files(lake) -> dict[str, float]:
    files = {}
    for table in ("silver.readings", "gold.site_daily_kpis"):
        folder = lake.table_dir(table) / f"event_date={D2}"
        files.update({f"{table}/{k}": v for k, v in files_under(folder).items()})
    return files


@pytest.fixture(scope="module")
def runs(spark, lake) -> Runs:
    manifests = generate(lake.raw_dir, load_registry(), D1, days=2,
                         rows_per_device=ROWS_PER_DEVICE, seed=11)
    first = run_day(spark, lake, D1)
    after_d1 = snapshot(spark)
    metrics_first = first.metrics_path.read_bytes()
    run_day(spark, lake, D2)
    after_d2 = snapshot(spark)
    d2_files_before = _d2_partition_files(lake)
    again = run_day(spark, lake, D1)
    return Runs(
        manifests={dt.date.fromisoformat(m.receive_date): m for m in manifests},
        after_d1=after_d1,
        after_d2=after_d2,
        after_d1_again=snapshot(spark),
        metrics_first=metrics_first,
        metrics_again=again.metrics_path.read_bytes(),
        d2_files_before=d2_files_before,
        d2_files_after=_d2_partition_files(lake),
    )


@pytest.fixture(scope="module")
def expected(lake, runs) -> reference.Outcome:
    return reference.silver(reference.raw_lines(lake.raw_dir, {D1, D2}),
                            reference.registry(REGISTRY_PATH))


def test_gold_equals_reference_calculation(runs, expected, spark):
    devices = reference.registry(REGISTRY_PATH)
    readings = list(expected.readings.values())
    gold = {(row[0], row[1]): row for row in runs.after_d2.gold}
    event_dates = [D1 - dt.timedelta(days=1), D1, D2]
    assert {day for day, _ in gold} == set(event_dates)
    sites = {row["site_id"] for row in devices.values()}
    for event_date in event_dates:
        want = reference.gold(readings, devices, event_date)
        assert set(want) == sites
        for site, values in want.items():
            row = dict(zip([c.strip() for c in GOLD_COLUMNS.split(",")], gold[(event_date, site)],
                           strict=True))
            assert_gold_row(row, values, (event_date, site))
    # The fleet really did something: energy and readings are not trivially zero.
    assert all(row[2] > 0 and row[7] > 0 for row in runs.after_d2.gold if row[0] == D1)


def test_silver_equals_reference_readings(runs, expected):
    silver = {(row[0], row[16]): row for row in runs.after_d2.readings}
    assert silver.keys() == expected.readings.keys()
    for key, reading in expected.readings.items():
        row = silver[key]
        assert row[1] == reading.site_id
        assert row[3] == reading.status
        assert (row[4], row[5], row[6]) == (reading.power_w, reading.soc_percent,
                                            reading.temperature_c)
        assert (row[7], row[8], row[9], row[10]) == (reading.power_capped, reading.soc_out,
                                                     reading.temp_out, reading.is_anomaly)
        assert (row[11], row[12], row[13]) == (reading.received_on, reading.source_file,
                                               reading.line_number)
        assert row[15] == reading.event_date


def test_quarantine_holds_every_rejected_line_with_its_reason(runs, expected):
    want = sorted((line.received_on, line.source_file, line.line_number, reason, line.text)
                  for line, reason in expected.rejected)
    assert runs.after_d2.quarantine == want
    assert {row[3] for row in want} == {"malformed_json"}


@pytest.mark.parametrize("day", [D1, D2])
def test_silver_counts_match_the_generator_manifest(runs, day):
    truth = runs.manifests[day].totals
    recon = {row[0]: row[1:] for row in runs.after_d2.reconciliation}[day]
    bronze, silver_rows, duplicates, rejected, lost, late = recon
    assert bronze == truth.lines
    assert rejected == truth.malformed
    assert duplicates == truth.duplicates
    assert silver_rows == truth.lines - truth.malformed - truth.duplicates
    assert late == truth.late
    assert lost == 0
    from_day = [row for row in runs.after_d2.readings if row[11] == day]
    assert sum(row[7] for row in from_day) == truth.negative_power
    assert sum(row[8] for row in from_day) == truth.soc_out_of_range
    assert sum(row[9] for row in from_day) == truth.temperature_out_of_range
    assert sum(row[3] == "fault" for row in from_day) == truth.status_fault
    assert sum(row[3] == "offline" for row in from_day) == truth.status_offline
    assert sum(row[14] - 1 for row in from_day) == truth.duplicates


def test_late_readings_land_in_their_event_date(runs):
    d1_rows = [row for row in runs.after_d2.readings if row[15] == D1]
    truth_d1, truth_d2 = runs.manifests[D1].totals, runs.manifests[D2].totals
    assert len(d1_rows) == truth_d1.readings_on_day + truth_d2.late
    assert sum(row[11] == D2 for row in d1_rows) == truth_d2.late
    before = [row for row in runs.after_d2.readings if row[15] == D1 - dt.timedelta(days=1)]
    assert len(before) == truth_d1.late


def test_rerunning_a_day_gives_the_same_tables(runs):
    assert runs.after_d1_again.readings == runs.after_d2.readings
    assert runs.after_d1_again.quarantine == runs.after_d2.quarantine
    assert runs.after_d1_again.gold == runs.after_d2.gold
    assert runs.after_d1_again.reconciliation == runs.after_d2.reconciliation


def test_rerun_keeps_the_first_runs_rows(runs):
    """Day 1's own rows are exactly as the first run wrote them; day 2 only added its late rows."""
    again = [row for row in runs.after_d1_again.readings if row[11] == D1]
    assert again == runs.after_d1.readings
    again = [row for row in runs.after_d1_again.quarantine if row[0] == D1]
    assert again == runs.after_d1.quarantine


def test_rerun_does_not_touch_other_days_partitions(runs):
    assert runs.d2_files_before
    assert runs.d2_files_after == runs.d2_files_before


def test_metrics_json_tells_the_truth_and_is_stable(runs):
    assert runs.metrics_again == runs.metrics_first
    metrics = json.loads(runs.metrics_first)
    truth = runs.manifests[D1].totals
    assert metrics["receive_date"] == "2025-08-01"
    assert metrics["bronze_rows"] == truth.lines
    assert metrics["rejected_rows_by_reason"]["malformed_json"] == truth.malformed
    assert sum(metrics["rejected_rows_by_reason"].values()) == truth.malformed
    assert metrics["duplicates_dropped"] == truth.duplicates
    assert metrics["silver_rows"] == truth.lines - truth.malformed - truth.duplicates
    assert metrics["late_rows"] == truth.late
    assert metrics["flag_counts"] == {
        "power_capped": truth.negative_power,
        "soc_out_of_range": truth.soc_out_of_range,
        "temperature_out_of_range": truth.temperature_out_of_range,
    }
    assert metrics["anomalies"] == (truth.negative_power + truth.soc_out_of_range
                                    + truth.temperature_out_of_range + truth.status_fault)
    assert metrics["null_counts"] == {"power_w": 0, "soc_percent": truth.soc_out_of_range,
                                      "temperature_c": truth.temperature_out_of_range}
    assert metrics["devices_registered"] == len(load_registry())
    assert metrics["devices_reporting"] == len(load_registry())
    assert metrics["event_dates_recomputed"] == ["2025-07-31", "2025-08-01"]
    tests = metrics["dbt_tests"]
    assert len(tests) > 20
    assert {t["status"] for t in tests} == {"pass"}
    names = {t["name"] for t in tests}
    assert {"reconciliation_bronze_equals_silver_duplicates_rejected",
            "reconciliation_no_accepted_line_lost", "assert_gold_has_every_registered_site",
            "assert_gold_consistent_with_silver", "readings_one_row_per_device_and_time"} <= names
    assert {t["type"] for t in tests} == {"test"}
    assert {"gate_rejected_share", "gate_devices_reporting_share"} <= names
    assert metrics["status"] == "passed"


def test_gold_reads_outside_spark_through_pyiceberg(runs, lake):
    rows = read_event_dates(lake, "gold.site_daily_kpis", [D1]).to_pylist()
    sites = {d.site_id for d in load_registry()}
    assert sorted(str(r["site_id"]) for r in rows) == sorted(sites)
    by_site = {str(r["site_id"]): r for r in rows}
    for row in runs.after_d2.gold:
        if row[0] == D1:
            assert by_site[row[1]]["energy_wh_total"] == row[2]
    # Iceberg tables, format version 2, Parquet data files.
    table = iceberg_catalog(lake).load_table("gold.site_daily_kpis")
    assert table.metadata.format_version == 2
    files = list(lake.table_dir("gold.site_daily_kpis").rglob("*.parquet"))
    assert files and pq.read_metadata(files[0]).num_columns > 0


def test_dbt_unit_tests_pass(runs, lake):
    results = run_dbt(lake, ["test", "--select", "test_type:unit"], D1)
    assert {(r.name, r.status) for r in results if r.resource_type == "unit_test"} == {
        ("stg_rejects_each_line_for_the_first_reason_that_applies", "pass"),
        ("stg_parses_measurements_and_converts_timestamps_to_utc", "pass"),
        ("readings_keep_the_copy_received_last_and_clean_values", "pass"),
        ("readings_clean_soc_and_temperature_at_the_bounds", "pass"),
        ("site_daily_kpis_cover_gaps_end_of_day_and_silent_sites", "pass"),
    }


def test_a_day_without_raw_files_is_refused_and_nothing_changes(runs, spark, lake):
    day = dt.date(2025, 8, 20)
    before = spark.table(BRONZE_TABLE).count()
    with pytest.raises(LakehouseError, match=str(lake.raw_dir / "2025" / "08" / "20")):
        ingest(spark, lake, day)
    assert spark.table(BRONZE_TABLE).count() == before


@pytest.mark.parametrize(("dbt_vars", "message"), [
    ('{"process_date": "2025-02-30"}',
     "process_date must be a real date written YYYY-MM-DD, got '2025-02-30'"),
    ('{"process_date": "2025-08-02", "process_date_to": "2025-08-01"}',
     "process_date_to 2025-08-01 is before process_date 2025-08-02"),
])
def test_invalid_process_dates_stop_dbt_before_any_model(runs, spark, lake, dbt_vars, message):
    from dbt.cli.main import dbtRunner

    outcome = dbtRunner().invoke([
        "build", "--project-dir", str(lake.home), "--profiles-dir", str(lake.profiles_dir),
        "--vars", dbt_vars,
    ])
    assert not outcome.success
    assert message in str(outcome.exception)
    assert snapshot(spark) == runs.after_d1_again


def test_another_day_keeps_dbts_partial_parse(runs, lake):
    """The day and the run's branch reach dbt in the environment, not as --vars (which would
    change every day and make dbt parse the whole project again): dbt, asked for another day on
    another branch, finds nothing changed since the last parse."""
    log = Path(os.environ["DBT_LOG_PATH"]) / "dbt.log"
    run_dbt(lake, ["parse"], D1, {"run_branch": "run_first"})
    environment = dict(os.environ)
    start = log.stat().st_size
    run_dbt(lake, ["parse"], D2, {"run_branch": "run_second"})
    parse = log.read_bytes()[start:].decode()
    assert "Nothing changed, skipping partial parsing." in parse
    assert "Unable to do partial parsing" not in parse
    assert dict(os.environ) == environment


def test_dbt_failure_is_reported_as_a_clear_error(runs, lake):
    with pytest.raises(LakehouseError, match="could not run: No such option '--bogus-flag'"):
        run_dbt(lake, ["build", "--bogus-flag"], D1)




def test_column_checks_report_each_failing_check_from_one_scan(runs, spark, lake):
    """readings_column_checks runs every not-null and range check of silver.readings in one
    query and returns one row per check that found rows, with their count."""
    day = dt.date(2025, 8, 27)
    columns = ("device_id, device_type, reported_site_id, status, source_file, line_number, "
               "copies_received, power_w, soc_percent, temperature_c, capacity_kwh, "
               "rated_power_w, is_power_capped, is_soc_out_of_range, "
               "is_temperature_out_of_range, is_anomaly, received_on, reading_at, event_date, "
               "site_id")
    # (device_type, power_w, soc_percent, temperature_c, is_anomaly): one sound row, then a
    # missing type with a state of charge of 150, a missing type with a negative power and a
    # temperature of 90, and a missing anomaly flag.
    rows = [("'megapack_2xl'", "10.0", "50.0", "20.0", "false"),
            ("null", "10.0", "150.0", "20.0", "false"),
            ("null", "-5.0", "50.0", "90.0", "false"),
            ("'megapack_2xl'", "10.0", "50.0", "20.0", "null")]
    values = ", ".join(
        f"('mp-lathrop-01', {kind}, 'lathrop-ca', 'online', 'f.jsonl', {i}, 1, {power}, {soc}, "
        f"{temp}, 3900.0, 1900000.0, false, false, false, {anomaly}, date'{day}', "
        f"timestamp'{day} 00:0{i}:00', date'{day}', 'lathrop-ca')"
        for i, (kind, power, soc, temp, anomaly) in enumerate(rows))
    spark.sql(f"insert into silver.readings ({columns}) values {values}")
    try:
        results = run_dbt(lake, ["test", "--select", "readings_column_checks"], day, check=False)
        failing = table_rows(spark, "select check_name, failures from "
                                    "audit.readings_column_checks")
    finally:
        spark.sql(f"delete from silver.readings where event_date = date'{day}'")
        spark.sql("drop view if exists audit.readings_column_checks")
    assert [(r.name, r.status, r.failures) for r in results if r.resource_type == "test"] == [
        ("readings_column_checks", "fail", 6)]
    assert failing == [("accepted_range(power_w)", 1), ("accepted_range(soc_percent)", 1),
                       ("accepted_range(temperature_c)", 1), ("not_null(device_type)", 2),
                       ("not_null(is_anomaly)", 1)]
