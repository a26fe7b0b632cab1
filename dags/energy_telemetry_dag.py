"""energy_telemetry_daily: raw files -> Bronze -> dbt Silver and Gold (one task per dbt node,
rendered by Cosmos) -> publish -> quality metrics. Wiring only: every callable lives in
telemetry.airflow_tasks and calls the same jobs as the `telemetry` command.

The run at 02:00 UTC on D+1 processes receive day D, the day that ended before it (see
airflow_tasks.receive_day); a manual run may name another with the param `date`, or a range with
`from` and `to` (processed in one pass). Where the raw
files come from is the deployment's setting TELEMETRY_RAW_SOURCE: `files` (the default) waits
for the producer's `_SUCCESS` marker, `simulated` (the demo) generates the day."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from telemetry import airflow_tasks, settings

# No usage telemetry from Cosmos or dbt: set before Cosmos reads its settings on import.
settings.disable_usage_telemetry()

from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG, Param, TriggerRule
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import (
    ExecutionMode,
    InvocationMode,
    LoadMode,
    SourceRenderingBehavior,
    TestBehavior,
)
from cosmos.operators.local import DbtDocsLocalOperator

PROJECT_DIR = settings.project_home()
MANIFEST = Path(
    os.environ.get("TELEMETRY_DBT_MANIFEST") or PROJECT_DIR / "target" / "manifest.json"
)
# Embedded: every task that opens Spark shares a one-slot pool. Server mode: no such limit.
SPARK_POOL = settings.spark_pool()
SIMULATED = settings.raw_source() == "simulated"
DOCS_DIR = settings.lakehouse().docs_dir
DAY = airflow_tasks.RECEIVE_DAY
LAST_DAY = airflow_tasks.LAST_RECEIVE_DAY
DAYS = {"day": DAY, "to": LAST_DAY}
PROFILE = ProfileConfig(
    profile_name=settings.PROFILE_NAME,
    target_name=settings.dbt_target(),
    profiles_yml_filepath=PROJECT_DIR / "profiles" / "profiles.yml",
)

with DAG(
    dag_id="energy_telemetry_daily",
    description="Daily fleet telemetry: Bronze ingest, dbt Silver and Gold, quality metrics",
    schedule="0 2 * * *",
    start_date=datetime(2025, 8, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=15),
    },
    params={
        "date": Param(None, type=["null", "string"], format="date",
                      description="Receive day to process, YYYY-MM-DD (a manual run; default: "
                                  "the day that ended before the run's logical date)"),
        "from": Param(None, type=["null", "string"], format="date",
                      description="First receive day of a range to process in one pass, "
                                  "YYYY-MM-DD (a manual run, with to)"),
        "to": Param(None, type=["null", "string"], format="date",
                    description="Last receive day of the range, YYYY-MM-DD"),
        "allow_incomplete": Param(False, type="boolean",
                                  description="Process the day's files without its _SUCCESS "
                                              "marker"),
        **({"rows_per_device": Param(1440, type="integer", minimum=1, maximum=86400),
            "seed": Param(42, type="integer")} if SIMULATED else {}),
        # The quality gates (dbt vars of the same names): a failing gate publishes nothing.
        "max_rejected_share": Param(0.05, type="number", minimum=0, maximum=1),
        "min_devices_reporting_share": Param(0.5, type="number", minimum=0, maximum=1),
    },
    tags=["energy", "dbt", "spark"],
    user_defined_macros={"receive_day": airflow_tasks.receive_day,
                         "last_receive_day": airflow_tasks.last_receive_day,
                         "run_branch": airflow_tasks.run_branch},
) as dag:
    if SIMULATED:
        raw_day = PythonOperator(
            task_id="generate_raw", python_callable=airflow_tasks.generate_raw,
            op_kwargs=DAYS,
        )
    else:
        # The producer marks a day complete with `_SUCCESS` once all its files are delivered.
        raw_day = PythonSensor(
            task_id="wait_for_raw", python_callable=airflow_tasks.raw_day_ready,
            op_kwargs=DAYS, poke_interval=300, timeout=12 * 3600, mode="reschedule",
        )
    ingest_bronze = PythonOperator(
        task_id="ingest_bronze", python_callable=airflow_tasks.ingest_bronze, pool=SPARK_POOL,
        op_kwargs=DAYS, inlets=[airflow_tasks.raw_asset()],
        outlets=[airflow_tasks.bronze_asset()],
    )
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=PROJECT_DIR,
            manifest_path=MANIFEST,
            install_dbt_deps=False,
            # Every node writes and tests the run's branch; `publish` makes it the tables' main.
            dbt_vars={
                "process_date": DAY,
                "process_date_to": LAST_DAY,
                "run_branch": "{{ run_branch(receive_day(dag_run, params), "
                              "last_receive_day(dag_run, params)) }}",
                "max_rejected_share": "{{ params.max_rejected_share }}",
                "min_devices_reporting_share": "{{ params.min_devices_reporting_share }}",
            },
            env_vars=airflow_tasks.dbt_env(),
        ),
        profile_config=PROFILE,
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL, invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.BUILD,
            should_detach_multiple_parents_tests=True,
            # Bronze's freshness (`dbt source freshness`) is a task before the first model: a
            # run whose receive days have no recently landed lines stops there.
            source_rendering_behavior=SourceRenderingBehavior.WITH_TESTS_OR_FRESHNESS,
            # Analyses, exposures and the on-run-start hook are not tasks; unit tests check the
            # SQL in development and CI, not each day's data.
            exclude=["resource_type:analysis", "resource_type:exposure",
                     "resource_type:operation", "resource_type:unit_test"],
        ),
        # What each node reads and writes is declared from the manifest (below).
        operator_args={"pool": SPARK_POOL, "emit_datasets": False},
    )
    airflow_tasks.declare_dbt_lineage(dbt, MANIFEST)
    # Its asset events (the tables, Gold among them) schedule the report DAG.
    publish = PythonOperator(
        task_id="publish", python_callable=airflow_tasks.publish, pool=SPARK_POOL,
        op_kwargs=DAYS, outlets=airflow_tasks.published_assets(),
    )
    # Written whatever the tests found, then failing when the day was not published.
    write_metrics = PythonOperator(
        task_id="write_metrics", python_callable=airflow_tasks.write_quality_metrics,
        pool=SPARK_POOL, op_kwargs=DAYS, trigger_rule=TriggerRule.ALL_DONE, retries=0,
        inlets=[airflow_tasks.reconciliation_asset()],
        outlets=[airflow_tasks.metrics_asset()],
    )
    # The docs site Airflow shows (Browse > dbt docs), regenerated from the published tables.
    dbt_docs = DbtDocsLocalOperator(
        task_id="dbt_docs", project_dir=PROJECT_DIR, profile_config=PROFILE,
        env={**airflow_tasks.dbt_env(), "DBT_TARGET_PATH": str(DOCS_DIR)},
        install_deps=False, pool=SPARK_POOL, retries=0,
    )

    raw_day >> ingest_bronze >> dbt >> publish >> [write_metrics, dbt_docs]
