"""Corrections: when a day's files are removed or corrected and the day re-run, partitions whose
recomputation has no rows are left empty, never stale, and late readings that were corrected away
leave their event date."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from ingest.layout import day_folder
from telemetry.jobs import run_day
from telemetry.pipeline.readers import iceberg_catalog
from telemetry.pipeline.registry import load_registry
from telemetry.simulator import generate
from tests.conftest import table_rows

pytestmark = pytest.mark.spark

D1 = dt.date(2025, 10, 1)
D2 = dt.date(2025, 10, 2)
PASSING_TEST = "readings_column_checks"


@pytest.fixture(scope="module")
def corrected(spark, lake):
    manifests = generate(lake.raw_dir, load_registry(), D1, days=2, rows_per_device=48, seed=5)
    run_day(spark, lake, D1)
    run_day(spark, lake, D2)
    before = {
        "late_into_d1": table_rows(
            spark, "select count(*) from silver.readings "
                   f"where event_date = date'{D1}' and received_on = date'{D2}'")[0][0],
        "hornsdale_d2": table_rows(
            spark, "select readings_count from gold.site_daily_kpis "
                   f"where event_date = date'{D2}' and site_id = 'hornsdale-sa'")[0][0],
    }
    # The correction: hornsdale-sa's files for D2 were sent by mistake, and D2's late readings
    # for D1 were wrong: remove the one and the other, then re-run D2.
    shutil.rmtree(day_folder(lake.raw_dir, D2) / "hornsdale-sa")
    for path in day_folder(lake.raw_dir, D2).glob("*/*.jsonl"):
        kept = [line for line in path.read_text().splitlines()
                if f'"ts":"{D1.isoformat()}' not in line]
        path.write_text("\n".join(kept) + "\n")
    # What an earlier failure of a test that passes now would have left in `audit`.
    spark.sql(f"create or replace view audit.{PASSING_TEST} as select 'stale' as device_id")
    rerun = run_day(spark, lake, D2)
    return {"manifests": manifests, "before": before, "rerun": rerun}


def test_the_scenario_had_something_to_correct(corrected):
    assert corrected["before"]["late_into_d1"] > 0
    assert corrected["before"]["hornsdale_d2"] > 0


def test_a_site_whose_files_were_removed_has_no_silver_rows_and_zero_gold(corrected, spark, lake):
    count = table_rows(spark, "select count(*) from silver.readings "
                              f"where event_date = date'{D2}' and site_id = 'hornsdale-sa'")
    assert count == [(0,)]
    # Outside Spark too: the table's current snapshot holds no file of that partition.
    files = iceberg_catalog(lake).load_table("silver.readings").inspect.files().to_pylist()
    assert [f for f in files if f["partition"] == {"event_date": D2, "site_id": "hornsdale-sa"}] \
        == []
    gold = table_rows(spark, "select readings_count, devices_reporting, energy_wh_total, "
                             "uptime_percent, peak_power_w, avg_temp_c from gold.site_daily_kpis "
                             f"where event_date = date'{D2}' and site_id = 'hornsdale-sa'")
    assert gold == [(0, 0, 0.0, 0.0, None, None)]


def test_late_readings_corrected_away_leave_their_event_date(corrected, spark):
    count = table_rows(spark, "select count(*) from silver.readings "
                              f"where event_date = date'{D1}' and received_on = date'{D2}'")
    assert count == [(0,)]
    d1_truth = corrected["manifests"][0]
    gold = dict(table_rows(spark, "select site_id, readings_count from gold.site_daily_kpis "
                                  f"where event_date = date'{D1}'"))
    want: dict[str, int] = {}
    for relative, counts in d1_truth.files.items():
        site = relative.split("/")[3]
        want[site] = want.get(site, 0) + counts["readings_on_day"]
    assert gold == want


def test_the_metrics_of_the_corrected_day_say_what_it_now_holds(corrected, lake):
    metrics = json.loads((lake.metrics_dir / f"quality_{D2}.json").read_text())
    assert metrics["late_rows"] == 0
    removed = sum(d.site_id == "hornsdale-sa" for d in load_registry())
    assert metrics["devices_reporting"] == len(load_registry()) - removed
    assert metrics["event_dates_recomputed"] == [D1.isoformat(), D2.isoformat()]


def test_audit_keeps_the_failing_rows_of_the_tests_that_found_some(corrected, spark):
    results = {r.name: r for r in corrected["rerun"].dbt_results
               if r.resource_type == "test"}
    assert results["warn_devices_not_reporting"].status == "warn"
    assert results[PASSING_TEST].status == "pass"
    stored = {row[1] for row in table_rows(spark, "show views in audit") if not row[2]}
    assert stored == {name for name, r in results.items() if r.failures}
    assert PASSING_TEST not in stored
    not_reporting = table_rows(
        spark, "select device_id, site_id from audit.warn_devices_not_reporting")
    assert sorted(not_reporting) == sorted(
        (d.device_id, d.site_id) for d in load_registry() if d.site_id == "hornsdale-sa")
