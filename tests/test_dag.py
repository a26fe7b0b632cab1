"""The Airflow DAG, rendered by Cosmos: its shape in both raw sources, the receive day each run
processes (through Airflow's own timetable), a real run of every task in-process (`dag.test()`)
whose Gold equals a `telemetry run` of the same day, and a run whose quality gate fails."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from telemetry.jobs import run_day
from telemetry.pipeline.dbt import run_dbt
from telemetry.settings import PROJECT_DIR
from tests.conftest import table_rows

pytestmark = pytest.mark.spark

DAG_ID = "energy_telemetry_daily"
DAY = dt.date(2025, 11, 1)
# The run Airflow schedules at 02:00 UTC on the next day, which processes DAY.
SCHEDULED_AT = dt.datetime(2025, 11, 2, 2, 0, tzinfo=dt.UTC)
FAILING_DAY = dt.date(2025, 11, 3)
SOURCE_FRESHNESS = "dbt.bronze_raw_telemetry_source"
REPORT_DAG_ID = "energy_telemetry_report"
DBT_NODES = {
    SOURCE_FRESHNESS,
    "dbt.devices_seed_build",
    "dbt.stg_bronze__raw_telemetry_model_build",
    "dbt.int_receive_day_event_dates_model_build",
    "dbt.readings_model_build",
    "dbt.quarantine_model_build",
    "dbt.receive_day_reconciliation_model_build",
    "dbt.site_daily_kpis_model_build",
}


def airflow_cli(*args: str) -> None:
    airflow = Path(sys.executable).with_name("airflow")
    done = subprocess.run([str(airflow), *args], capture_output=True, text=True, timeout=600,
                          env=os.environ.copy())
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def airflow_home(lake, tmp_path_factory):
    from telemetry.services.airflow import airflow_settings

    home = tmp_path_factory.mktemp("airflow")
    os.environ.update({
        "AIRFLOW_HOME": str(home),
        # The project's settings: its DAGs, OpenLineage to a file, the docs site in the UI.
        **airflow_settings(lake),
        # The demo's source: the DAG simulates each day (the default waits for real files).
        "TELEMETRY_RAW_SOURCE": "simulated",
    })
    # The project's set-up: a manifest for Cosmos to render from, the database, the pool.
    run_dbt(lake, ["parse"])
    os.environ["TELEMETRY_DBT_MANIFEST"] = str(Path(os.environ["DBT_TARGET_PATH"]) /
                                               "manifest.json")
    airflow_cli("db", "migrate")
    airflow_cli("pools", "set", "embedded_spark", "1", "Spark on the embedded metastore")
    return home


@pytest.fixture(scope="module")
def dag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_DIR / "dags"))
    assert bag.import_errors == {}
    return bag.get_dag(DAG_ID)


def test_the_maintenance_dag_runs_weekly_in_the_spark_pool(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_DIR / "dags"))
    maintenance = bag.dags["energy_telemetry_maintenance"]
    assert maintenance.timetable.expression == "0 4 * * 0"  # Sundays, 04:00 UTC
    assert [t.task_id for t in maintenance.tasks] == ["maintain"]
    assert maintenance.tasks[0].pool == "embedded_spark"


def test_usage_telemetry_is_off(dag):
    from cosmos import telemetry

    assert telemetry.should_emit() is False


def test_dag_shape(dag):
    assert dag.schedule == "0 2 * * *"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    tasks = {t.task_id: t for t in dag.tasks}
    assert tasks.keys() >= DBT_NODES
    assert {"generate_raw", "ingest_bronze", "publish", "write_metrics"} <= tasks.keys()
    assert "wait_for_raw" not in tasks
    assert tasks["ingest_bronze"].upstream_task_ids == {"generate_raw"}
    assert tasks["dbt.readings_model_build"].upstream_task_ids >= {
        "dbt.stg_bronze__raw_telemetry_model_build", "dbt.int_receive_day_event_dates_model_build"}
    assert "dbt.readings_model_build" in tasks["dbt.site_daily_kpis_model_build"].upstream_task_ids
    assert "ingest_bronze" in tasks["dbt.devices_seed_build"].upstream_task_ids
    # Publish waits for every dbt node and test: a failing test publishes nothing.
    before_publish = {t.task_id for t in tasks["publish"].get_flat_relatives(upstream=True)}
    dbt_tasks = {task_id for task_id in tasks if task_id.startswith("dbt.")}
    assert dbt_tasks <= before_publish
    # The metrics are written whatever the tests found, and only once.
    assert tasks["write_metrics"].upstream_task_ids == {"publish"}
    assert tasks["write_metrics"].trigger_rule == "all_done"
    assert tasks["write_metrics"].retries == 0
    # The docs site Airflow shows is regenerated once the run is published.
    assert tasks["dbt_docs"].upstream_task_ids == {"publish"}
    assert type(tasks["dbt_docs"]).__name__ == "DbtDocsLocalOperator"
    for task_id in DBT_NODES | {"ingest_bronze", "publish", "write_metrics", "dbt_docs"}:
        assert tasks[task_id].pool == "embedded_spark", task_id
    for task_id in DBT_NODES | {"ingest_bronze", "publish"}:
        assert tasks[task_id].retries == 2
    assert tasks["dbt.readings_model_build"].vars == {
        "process_date": "{{ receive_day(dag_run, params) }}",
        "process_date_to": "{{ last_receive_day(dag_run, params) }}",
        "run_branch": "{{ run_branch(receive_day(dag_run, params), "
                      "last_receive_day(dag_run, params)) }}",
        "max_rejected_share": "{{ params.max_rejected_share }}",
        "min_devices_reporting_share": "{{ params.min_devices_reporting_share }}"}
    assert "vars" in tasks["dbt.readings_model_build"].template_fields


def test_bronzes_freshness_is_checked_before_any_model_reads_it(dag):
    tasks = {t.task_id: t for t in dag.tasks}
    freshness = tasks[SOURCE_FRESHNESS]
    assert type(freshness).__name__ == "DbtSourceLocalOperator"  # dbt source freshness
    assert freshness.select == "source:bronze.raw_telemetry"
    assert freshness.upstream_task_ids == {"ingest_bronze"}
    assert SOURCE_FRESHNESS in tasks["dbt.stg_bronze__raw_telemetry_model_build"].upstream_task_ids


def uri(path: Path) -> str:
    return path.as_uri()


def test_each_task_declares_what_it_reads_and_writes(dag, lake):
    tasks = {t.task_id: t for t in dag.tasks}
    warehouse = lake.warehouse_dir

    def uris(assets) -> set[str]:
        return {asset.uri for asset in assets}

    assert uris(tasks["ingest_bronze"].inlets) == {uri(lake.raw_dir)}
    assert uris(tasks["ingest_bronze"].outlets) == {uri(warehouse / "bronze" / "raw_telemetry")}
    # dbt nodes, from the manifest: a model reads its parents and writes itself.
    stg = tasks["dbt.stg_bronze__raw_telemetry_model_build"]
    assert uris(stg.inlets) == {uri(warehouse / "bronze" / "raw_telemetry"),
                                uri(warehouse / "silver" / "devices")}
    assert uris(stg.outlets) == {uri(warehouse / "silver" / "stg_bronze__raw_telemetry")}
    gold = tasks["dbt.site_daily_kpis_model_build"]
    assert uri(warehouse / "silver" / "readings") in uris(gold.inlets)
    assert uris(gold.outlets) == {uri(warehouse / "gold" / "site_daily_kpis")}
    assert uris(tasks[SOURCE_FRESHNESS].inlets) == {uri(warehouse / "bronze" / "raw_telemetry")}
    # Publishing makes every table's new version the one readers see: Gold among them.
    assert uri(warehouse / "gold" / "site_daily_kpis") in uris(tasks["publish"].outlets)
    assert uris(tasks["write_metrics"].outlets) == {uri(lake.metrics_dir)}


def test_the_report_dag_is_scheduled_on_gold_and_the_metrics(airflow_home, lake):
    from airflow.dag_processing.dagbag import DagBag

    report = DagBag(dag_folder=str(PROJECT_DIR / "dags")).dags[REPORT_DAG_ID]
    condition = report.timetable.asset_condition
    assert type(condition).__name__ == "AssetAll"
    assert {asset.uri for asset in condition.objects} == {
        uri(lake.warehouse_dir / "gold" / "site_daily_kpis"), uri(lake.metrics_dir)}
    assert [t.task_id for t in report.tasks] == ["write_report"]
    assert {a.uri for a in report.tasks[0].outlets} == {uri(lake.reports_dir)}
    assert report.params["days"] == 7


def test_with_real_files_the_dag_waits_for_the_days_completion_marker(airflow_home,
                                                                      monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.delenv("TELEMETRY_RAW_SOURCE")
    bag = DagBag(dag_folder=str(PROJECT_DIR / "dags"))
    assert bag.import_errors == {}
    tasks = {t.task_id: t for t in bag.dags[DAG_ID].tasks}
    assert "generate_raw" not in tasks
    assert tasks["ingest_bronze"].upstream_task_ids == {"wait_for_raw"}
    assert tasks["wait_for_raw"].mode == "reschedule"
    assert {"rows_per_device", "seed"}.isdisjoint(bag.dags[DAG_ID].params.keys())


def test_a_raw_source_that_is_not_one_is_an_import_error(airflow_home, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("TELEMETRY_RAW_SOURCE", "real")
    bag = DagBag(dag_folder=str(PROJECT_DIR / "dags"))
    errors = "".join(bag.import_errors.values())
    assert "TELEMETRY_RAW_SOURCE='real' is not one of files, simulated" in errors


def rendered_day(dag, *, logical_date=None, run_after=None, conf=None,
                 template: str = "{{ receive_day(dag_run, params) }}") -> str:
    """The receive day a run of the DAG renders, through the DAG's own template environment."""
    run = SimpleNamespace(logical_date=logical_date, run_after=run_after or logical_date)
    params = {**dag.params.dump(), **(conf or {})}
    return dag.get_template_env().from_string(template).render(dag_run=run, params=params)


def test_the_run_at_two_on_the_next_day_processes_the_day_that_ended(dag):
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable
    from airflow.timetables.base import TimeRestriction

    # The timetable as the scheduler holds it (the serialized DAG's), asked for its runs from
    # 2025-11-01 on, as the scheduler and a backfill ask.
    timetable = decode_timetable(encode_timetable(dag.timetable))
    assert type(timetable).__name__ == "CronTriggerTimetable"
    restriction = TimeRestriction(earliest=dt.datetime(2025, 11, 1, tzinfo=dt.UTC), latest=None,
                                  catchup=True)
    runs, last = [], None
    for _ in range(3):
        last = timetable.next_dagrun_info_v2(last_dagrun_info=last, restriction=restriction)
        runs.append(last)
    assert [i.logical_date for i in runs] == [
        dt.datetime(2025, 11, d, 2, 0, tzinfo=dt.UTC) for d in (1, 2, 3)]
    assert runs[1].logical_date == SCHEDULED_AT
    # Each run, scheduled or backfilled for that moment, processes the day before it.
    assert [rendered_day(dag, logical_date=i.logical_date) for i in runs] == [
        "2025-10-31", "2025-11-01", "2025-11-02"]
    # A manual run with no logical date counts from when it was triggered.
    assert rendered_day(dag, run_after=dt.datetime(2025, 11, 2, 15, 30, tzinfo=dt.UTC)) == \
        "2025-11-01"
    # One just after midnight UTC still processes the day that ended.
    assert rendered_day(dag, logical_date=dt.datetime(2025, 11, 2, 0, 5, tzinfo=dt.UTC)) == \
        "2025-11-01"
    # A manual run may name its day.
    assert rendered_day(dag, logical_date=SCHEDULED_AT, conf={"date": "2025-10-20"}) == \
        "2025-10-20"


def test_a_manual_run_given_from_and_to_processes_the_range_in_one_pass(dag):
    tasks = {t.task_id: t for t in dag.tasks}
    last = tasks["dbt.readings_model_build"].vars["process_date_to"]
    branch = tasks["dbt.readings_model_build"].vars["run_branch"]
    range_conf = {"from": "2025-10-01", "to": "2025-10-30"}
    # Every task gets the same range: the first and last receive day, and one branch for both.
    assert [rendered_day(dag, logical_date=SCHEDULED_AT, conf=range_conf, template=t)
            for t in ("{{ receive_day(dag_run, params) }}", last, branch)] == [
        "2025-10-01", "2025-10-30", "run_20251001_20251030"]
    for task_id in ("generate_raw", "ingest_bronze", "publish", "write_metrics"):
        assert tasks[task_id].op_kwargs == {"day": "{{ receive_day(dag_run, params) }}",
                                            "to": last}, task_id
    # A scheduled run's range is its one day, on the day's own branch.
    assert [rendered_day(dag, logical_date=SCHEDULED_AT, template=t) for t in (last, branch)] \
        == ["2025-11-01", "run_20251101"]
    # A range that ends before it starts, or names both a day and a range, renders no day.
    for conf, message in [({"from": "2025-10-05", "to": "2025-10-01"}, "is before"),
                          ({"date": "2025-10-05", "from": "2025-10-01"}, "not both"),
                          ({"to": "2025-10-05"}, "needs from"),
                          ({"from": "2025-01-01", "to": "2025-12-31"}, "365 days; a DAG run")]:
        with pytest.raises(ValueError, match=message):
            rendered_day(dag, logical_date=SCHEDULED_AT, conf=conf, template=last)


@pytest.fixture(scope="module")
def dag_run(dag, spark, lake):
    run = dag.test(logical_date=SCHEDULED_AT, run_conf={"rows_per_device": 96, "seed": 9})
    gold = table_rows(spark, "select * from gold.site_daily_kpis "
                             f"where event_date between date'{DAY - dt.timedelta(days=1)}' "
                             f"and date'{DAY}'")
    return run, gold


def test_every_task_runs(dag_run, lake):
    run, _ = dag_run
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert set(states.values()) == {"success"}, states
    # The run scheduled at 02:00 on 2025-11-02 simulated and processed 2025-11-01, only.
    assert (lake.raw_dir / "2025/11/01/_SUCCESS").exists()
    assert not (lake.raw_dir / "2025/11/02").exists()
    assert states.keys() >= DBT_NODES


def test_dag_gold_equals_a_telemetry_run_of_the_same_day(dag_run, spark, lake):
    _, gold_from_dag = dag_run
    assert len(gold_from_dag) == 8
    run_day(spark, lake, DAY)
    again = table_rows(spark, "select * from gold.site_daily_kpis "
                              f"where event_date between date'{DAY - dt.timedelta(days=1)}' "
                              f"and date'{DAY}'")
    assert again == gold_from_dag


def test_dag_writes_the_metrics_with_every_dbt_tasks_tests(dag_run, lake):
    metrics = json.loads((lake.metrics_dir / f"quality_{DAY}.json").read_text())
    names = {t["name"] for t in metrics["dbt_tests"]}
    assert {"reconciliation_bronze_equals_silver_duplicates_rejected",
            "assert_gold_has_every_registered_site", "assert_gold_consistent_with_silver"} <= names
    assert {t["status"] for t in metrics["dbt_tests"]} <= {"pass", "warn"}
    assert metrics["bronze_rows"] > 0
    assert {"gate_rejected_share", "gate_devices_reporting_share"} <= names


def test_the_run_regenerates_the_docs_site_airflow_shows(dag_run, lake):
    for name in ("index.html", "manifest.json", "catalog.json"):
        assert (lake.docs_dir / name).is_file(), name
    catalog = json.loads((lake.docs_dir / "catalog.json").read_text())
    assert "model.energy_telemetry.site_daily_kpis" in catalog["nodes"]


def gold_events(lake) -> list:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    gold = uri(lake.warehouse_dir / "gold" / "site_daily_kpis")
    with create_session() as session:
        events = session.scalars(
            select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == gold).order_by(AssetEvent.timestamp)).all()
        return [SimpleNamespace(extra=e.extra, source_task_id=e.source_task_id,
                                source_dag_id=e.source_dag_id) for e in events]


def test_publishing_records_an_update_of_gold_naming_its_days(dag_run, lake):
    events = [e for e in gold_events(lake) if e.source_task_id == "publish"]
    assert events and events[-1].source_dag_id == DAG_ID
    assert events[-1].extra == {"from": str(DAY), "to": str(DAY)}


def lineage_edges(lake, dag_id: str) -> set[tuple[str, str]]:
    """(input, output) dataset pairs of the COMPLETE events of a DAG's tasks."""
    edges = set()
    for line in lake.lineage_file.read_text().splitlines():
        event = json.loads(line)
        if event.get("eventType") != "COMPLETE" or not event["job"]["name"].startswith(dag_id):
            continue
        ins = [d["name"] for d in event.get("inputs", [])] or [None]
        for output in event.get("outputs", []):
            edges.update((i, output["name"]) for i in ins)
    return edges


def reachable(edges: set[tuple[str, str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        for a, b in edges:
            if a == node and b not in seen:
                seen.add(b)
                todo.append(b)
    return seen


def test_openlineage_events_form_the_graph_from_raw_files_to_metrics(dag_run, lake):
    edges = lineage_edges(lake, DAG_ID)
    warehouse = lake.warehouse_dir
    raw, bronze = str(lake.raw_dir), str(warehouse / "bronze" / "raw_telemetry")
    silver = str(warehouse / "silver" / "readings")
    gold = str(warehouse / "gold" / "site_daily_kpis")
    assert (raw, bronze) in edges  # the ingest
    assert (bronze, str(warehouse / "silver" / "stg_bronze__raw_telemetry")) in edges
    assert (silver, gold) in edges  # the Gold model reads Silver's readings
    assert (str(warehouse / "silver" / "receive_day_reconciliation"),
            str(lake.metrics_dir)) in edges
    downstream = reachable(edges, raw)
    assert {bronze, silver, gold, str(lake.metrics_dir)} <= downstream


def test_the_report_dag_writes_the_report_of_what_gold_published(dag_run, lake, airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    from telemetry import airflow_tasks

    _, gold = dag_run
    # As a run the Gold update scheduled: the days come from the update's asset event.
    events = {airflow_tasks.gold_asset(): gold_events(lake)}
    path = Path(airflow_tasks.write_kpi_report({"days": 2}, events))
    assert path.name == f"kpi_report_{DAY}_2d.html"
    # A manual run names its day.
    path.unlink()
    report = DagBag(dag_folder=str(PROJECT_DIR / "dags")).dags[REPORT_DAG_ID]
    run = report.test(run_conf={"date": str(DAY), "days": 2})
    assert {str(ti.state) for ti in run.get_task_instances()} == {"success"}
    text = path.read_text()
    data = json.loads(text[text.index("{", text.index("id='report-data'")):
                           text.rindex("</script>")])
    # The report holds Gold's published rows of the run's days (energy, per site).
    energy = {(str(row[8]), row[9]): row[0] for row in gold}
    assert {(d, site): rows[d]["energy_wh_total"] for site, rows in data["gold"].items()
            for d in rows} == energy
    assert report_events(lake) >= 1


def report_events(lake) -> int:
    return sum(1 for line in lake.lineage_file.read_text().splitlines()
               if json.loads(line)["job"]["name"] == f"{REPORT_DAG_ID}.write_report")


def test_a_run_whose_bronze_is_stale_stops_before_silver(dag, lake):
    """A run whose ingest landed nothing for its day (Bronze holds no line of it): the freshness
    task fails, and no model runs."""
    stale = dag.partial_subset(task_ids=[SOURCE_FRESHNESS], include_downstream=True,
                               include_upstream=False)
    for task in stale.tasks:
        task.retries = 0
    run = stale.test(logical_date=dt.datetime(2025, 10, 21, 2, 0, tzinfo=dt.UTC))
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states[SOURCE_FRESHNESS] == "failed"
    assert states["dbt.stg_bronze__raw_telemetry_model_build"] == "upstream_failed"
    assert states["publish"] == "upstream_failed"
    # dbt's verdict: no line of 2025-10-20 was ever loaded (older than any threshold).
    sources = json.loads((lake.data_dir / "dbt-runs" / "2025-10-20" / SOURCE_FRESHNESS /
                          "sources.json").read_text())
    (result,) = sources["results"]
    assert result["status"] == "error"
    assert result["max_loaded_at"].startswith("0001-01-01")
    assert result["criteria"]["error_after"] == {"count": 50, "period": "hour"}


def test_a_run_whose_gate_fails_still_writes_its_metrics_then_fails(dag, dag_run, spark, lake):
    gold = f"select * from gold.site_daily_kpis where event_date = date'{FAILING_DAY}'"
    before = table_rows(spark, gold)
    for task in dag.tasks:  # no retries in this test: the failure is the data's
        task.retries = 0
    # 12,000 lines with 0.1% malformed: some are rejected, and no rejected line is allowed.
    run = dag.test(logical_date=dt.datetime(2025, 11, 4, 2, 0, tzinfo=dt.UTC),
                   run_conf={"rows_per_device": 480, "seed": 9, "max_rejected_share": 0})
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states["publish"] == "upstream_failed"
    assert states["write_metrics"] == "failed"
    assert str(run.state) == "failed"
    metrics = json.loads((lake.metrics_dir / f"quality_{FAILING_DAY}.json").read_text())
    assert metrics["status"] == "failed"
    assert metrics["unpublished_branch"] == "run_20251103"
    gate = {t["name"]: t for t in metrics["dbt_tests"]}["gate_rejected_share"]
    assert gate["status"] == "fail"
    assert gate["failing_rows"] == "select * from audit.gate_rejected_share"
    assert metrics["rejected_rows"] > 0
    assert table_rows(spark, gold) == before
