"""energy_telemetry_daily: raw files -> Bronze -> dbt Silver and Gold (one task per dbt node,
rendered by Cosmos) -> quality metrics. Wiring only: every callable lives in
telemetry.airflow_tasks and calls the same jobs as the `telemetry` command."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from telemetry import airflow_tasks, settings

# No usage telemetry from Cosmos or dbt: set before Cosmos reads its settings on import.
settings.disable_usage_telemetry()

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator, PythonOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG, Param, TriggerRule
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

PROJECT_DIR = settings.project_home()
MANIFEST = Path(
    os.environ.get("TELEMETRY_DBT_MANIFEST") or PROJECT_DIR / "target" / "manifest.json"
)
# Embedded: every task that opens Spark shares a one-slot pool. Server mode: no such limit.
SPARK_POOL = settings.spark_pool()

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
        "generate": Param(True, type="boolean",
                          description="Simulate the day's raw files (off: wait for real ones)"),
        "rows_per_device": Param(1440, type="integer", minimum=1, maximum=86400),
        "seed": Param(42, type="integer"),
        # The quality gates (dbt vars of the same names): a failing gate publishes nothing.
        "max_rejected_share": Param(0.05, type="number", minimum=0, maximum=1),
        "min_devices_reporting_share": Param(0.5, type="number", minimum=0, maximum=1),
    },
    tags=["energy", "dbt", "spark"],
    user_defined_macros={"run_branch": airflow_tasks.run_branch},
) as dag:
    choose_source = BranchPythonOperator(
        task_id="choose_source", python_callable=airflow_tasks.choose_source,
    )
    generate_raw = PythonOperator(
        task_id="generate_raw", python_callable=airflow_tasks.generate_raw,
    )
    wait_for_raw = PythonSensor(
        task_id="wait_for_raw", python_callable=airflow_tasks.raw_day_ready,
        op_kwargs={"ds": "{{ ds }}"}, poke_interval=300, timeout=12 * 3600, mode="reschedule",
    )
    raw_ready = EmptyOperator(
        task_id="raw_ready", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
    )
    ingest_bronze = PythonOperator(
        task_id="ingest_bronze", python_callable=airflow_tasks.ingest_bronze, pool=SPARK_POOL,
    )
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=PROJECT_DIR,
            manifest_path=MANIFEST,
            install_dbt_deps=False,
            # Every node writes and tests the run's branch; `publish` makes it the tables' main.
            dbt_vars={
                "process_date": "{{ ds }}",
                "run_branch": "{{ run_branch(ds) }}",
                "max_rejected_share": "{{ params.max_rejected_share }}",
                "min_devices_reporting_share": "{{ params.min_devices_reporting_share }}",
            },
            env_vars=airflow_tasks.dbt_env(),
        ),
        profile_config=ProfileConfig(
            profile_name=settings.PROFILE_NAME,
            target_name=settings.dbt_target(),
            profiles_yml_filepath=PROJECT_DIR / "profiles" / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL, invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.BUILD,
            should_detach_multiple_parents_tests=True,
            # Analyses, exposures and the on-run-start hook are not tasks.
            exclude=["resource_type:analysis", "resource_type:exposure",
                     "resource_type:operation"],
        ),
        # Unit tests check the SQL in development and CI, not each day's data.
        operator_args={"pool": SPARK_POOL,
                       "dbt_cmd_flags": ["--exclude-resource-type", "unit_test"]},
    )
    publish = PythonOperator(
        task_id="publish", python_callable=airflow_tasks.publish, pool=SPARK_POOL,
    )
    write_metrics = PythonOperator(
        task_id="write_metrics", python_callable=airflow_tasks.write_quality_metrics,
        pool=SPARK_POOL,
    )

    choose_source >> [generate_raw, wait_for_raw] >> raw_ready >> ingest_bronze >> dbt
    dbt >> publish >> write_metrics
