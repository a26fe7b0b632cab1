"""energy_telemetry_report: the fleet's KPI report (`telemetry report`), written each time a run
of energy_telemetry_daily publishes the Gold table and then writes the quality metrics (data-aware
scheduling on those two assets). Wiring only."""

from __future__ import annotations

from datetime import datetime

from telemetry import airflow_tasks, settings

settings.disable_usage_telemetry()

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Param

GOLD = airflow_tasks.gold_asset()

with DAG(
    dag_id="energy_telemetry_report",
    description="The KPI report (HTML, opens offline) of the days Gold now holds",
    schedule=GOLD & airflow_tasks.metrics_asset(),
    start_date=datetime(2025, 8, 1),
    catchup=False,
    max_active_runs=1,
    params={
        "date": Param(None, type=["null", "string"], format="date",
                      description="The report's last day, YYYY-MM-DD (a manual run; default: the "
                                  "last receive day the Gold update published)"),
        "days": Param(7, type="integer", minimum=1, maximum=366,
                      description="How many days up to that day the report covers"),
    },
    tags=["energy", "report"],
) as dag:
    PythonOperator(
        task_id="write_report", python_callable=airflow_tasks.write_kpi_report,
        inlets=[GOLD, airflow_tasks.metrics_asset()], outlets=[airflow_tasks.reports_asset()],
    )
