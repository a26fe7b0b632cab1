"""The Airflow DAG, rendered by Cosmos: its shape, and a real run of every task in-process
(`dag.test()`), whose Gold equals a `telemetry run` of the same day."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from telemetry.jobs import run_day
from telemetry.pipeline.dbt import run_dbt
from telemetry.settings import PROJECT_DIR
from tests.conftest import table_rows

pytestmark = pytest.mark.spark

DAG_ID = "energy_telemetry_daily"
DAY = dt.date(2025, 11, 1)
DBT_NODES = {
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
    home = tmp_path_factory.mktemp("airflow")
    os.environ.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
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
    assert {"choose_source", "generate_raw", "wait_for_raw", "raw_ready", "ingest_bronze",
            "write_metrics"} <= tasks.keys()
    assert tasks["choose_source"].downstream_task_ids == {"generate_raw", "wait_for_raw"}
    assert tasks["raw_ready"].upstream_task_ids == {"generate_raw", "wait_for_raw"}
    assert tasks["ingest_bronze"].upstream_task_ids == {"raw_ready"}
    assert tasks["dbt.readings_model_build"].upstream_task_ids >= {
        "dbt.stg_bronze__raw_telemetry_model_build", "dbt.int_receive_day_event_dates_model_build"}
    assert "dbt.readings_model_build" in tasks["dbt.site_daily_kpis_model_build"].upstream_task_ids
    assert "ingest_bronze" in tasks["dbt.devices_seed_build"].upstream_task_ids
    # Publish waits for every dbt node and test: a failing test publishes nothing.
    before_publish = {t.task_id for t in tasks["publish"].get_flat_relatives(upstream=True)}
    dbt_tasks = {task_id for task_id in tasks if task_id.startswith("dbt.")}
    assert dbt_tasks <= before_publish
    assert tasks["write_metrics"].upstream_task_ids == {"publish"}
    for task_id in DBT_NODES | {"ingest_bronze", "publish", "write_metrics"}:
        assert tasks[task_id].pool == "embedded_spark", task_id
        assert tasks[task_id].retries == 2
    assert tasks["dbt.readings_model_build"].vars == {
        "process_date": "{{ ds }}", "run_branch": "{{ run_branch(ds) }}",
        "max_rejected_share": "{{ params.max_rejected_share }}",
        "min_devices_reporting_share": "{{ params.min_devices_reporting_share }}"}
    assert "vars" in tasks["dbt.readings_model_build"].template_fields


@pytest.fixture(scope="module")
def dag_run(dag, spark, lake):
    run = dag.test(logical_date=dt.datetime(2025, 11, 1, tzinfo=dt.UTC),
                   run_conf={"generate": True, "rows_per_device": 96, "seed": 9})
    gold = table_rows(spark, "select * from gold.site_daily_kpis "
                             f"where event_date between date'{DAY - dt.timedelta(days=1)}' "
                             f"and date'{DAY}'")
    return run, gold


def test_every_task_runs(dag_run):
    run, _ = dag_run
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states.pop("wait_for_raw") == "skipped"
    assert set(states.values()) == {"success"}, states
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
    import json

    metrics = json.loads((lake.metrics_dir / f"quality_{DAY}.json").read_text())
    names = {t["name"] for t in metrics["dbt_tests"]}
    assert {"reconciliation_bronze_equals_silver_duplicates_rejected",
            "assert_gold_has_every_registered_site", "assert_gold_consistent_with_silver"} <= names
    assert {t["status"] for t in metrics["dbt_tests"]} <= {"pass", "warn"}
    assert metrics["bronze_rows"] > 0
    assert {"gate_rejected_share", "gate_devices_reporting_share"} <= names
