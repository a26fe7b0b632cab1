"""The Gold KPIs of an event date, as rows."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import SparkSession

GOLD_TABLE = "gold.site_daily_kpis"
KPI_COLUMNS = [
    "site_id",
    "readings_count",
    "devices_reporting",
    "devices_registered",
    "energy_wh_total",
    "peak_power_w",
    "avg_temp_c",
    "uptime_percent",
    "anomaly_count",
]


def gold_kpis(spark: SparkSession, event_date: dt.date) -> list[dict[str, object]]:
    rows = spark.sql(
        f"select {', '.join(KPI_COLUMNS)} from {GOLD_TABLE} "
        f"where event_date = date'{event_date.isoformat()}' order by site_id"
    ).collect()
    return [row.asDict() for row in rows]
