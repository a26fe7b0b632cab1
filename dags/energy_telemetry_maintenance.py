"""energy_telemetry_maintenance: once a week, the Iceberg tables' upkeep (`telemetry maintain`):
snapshots older than 7 days expire (the last 5 of each table stay), which deletes the data files
no kept snapshot uses, and files no snapshot knows are removed. Wiring only."""

from __future__ import annotations

from datetime import datetime, timedelta

from telemetry import airflow_tasks, settings

settings.disable_usage_telemetry()

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

with DAG(
    dag_id="energy_telemetry_maintenance",
    description="Weekly Iceberg upkeep: expire old snapshots, remove orphan files",
    schedule="0 4 * * 0",
    start_date=datetime(2025, 8, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["energy", "iceberg", "maintenance"],
) as dag:
    PythonOperator(task_id="maintain", python_callable=airflow_tasks.maintain,
                   pool=settings.spark_pool())
