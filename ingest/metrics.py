"""The quality-metrics JSON of a receive day: `data/metrics/quality_<YYYY-MM-DD>.json`.

Written whole or not at all (a temporary file, then a rename); a re-run of the day writes the same
content (no timestamps, keys and lists sorted).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from ingest.dbt_build import NodeResult
from ingest.lakehouse import Lakehouse, LakehouseError

REJECTION_REASONS = [
    "malformed_json",
    "missing_device_id",
    "invalid_timestamp",
    "unknown_device",
    "out_of_window",
]
MEASURED_COLUMNS = ["power_w", "soc_percent", "temperature_c"]
FLAGS = ["is_power_capped", "is_soc_out_of_range", "is_temperature_out_of_range"]


SILVER_TABLES_READ = ["silver.receive_day_reconciliation", "silver.quarantine",
                      "silver.readings", "silver.receive_day_event_dates", "silver.devices"]


def refresh_tables(spark: SparkSession, tables: Iterable[str]) -> None:
    """Forget cached file listings of tables another session (dbt's) has just rewritten: a
    session of a long-lived server would otherwise read the files it listed before."""
    for table in tables:
        spark.catalog.refreshTable(table)


def metrics_path(lake: Lakehouse, day: dt.date) -> Path:
    return lake.metrics_dir / f"quality_{day.isoformat()}.json"


def _one_row(spark: SparkSession, query: str, what: str) -> dict[str, Any]:
    rows = spark.sql(query).collect()
    if len(rows) != 1:
        raise LakehouseError(f"{what}: expected one row, found {len(rows)}; was the day built?")
    return rows[0].asDict()


def quality_metrics(spark: SparkSession, day: dt.date, tests: Iterable[NodeResult]
                    ) -> dict[str, Any]:
    """The day's metrics, read from the Silver tables dbt built, plus the dbt test results."""
    refresh_tables(spark, SILVER_TABLES_READ)
    day_sql = f"date'{day.isoformat()}'"
    counts = _one_row(
        spark,
        "select bronze_rows, silver_rows, duplicates_dropped, rejected_rows, lost_rows, late_rows "
        f"from silver.receive_day_reconciliation where received_on = {day_sql}",
        f"reconciliation of {day}",
    )
    by_reason = {reason: 0 for reason in REJECTION_REASONS}
    for row in spark.sql(
        "select rejection_reason, count(*) as n from silver.quarantine "
        f"where received_on = {day_sql} group by rejection_reason"
    ).collect():
        by_reason[row["rejection_reason"]] = row["n"]

    nulls = ", ".join(f"count_if({c} is null) as {c}" for c in MEASURED_COLUMNS)
    flags = ", ".join(f"count_if({f}) as {f}" for f in FLAGS)
    readings = _one_row(
        spark,
        f"select {nulls}, {flags}, count_if(is_anomaly) as anomalies, "
        "count(distinct device_id) as devices_reporting "
        "from silver.readings "
        "where event_date in (select event_date from silver.receive_day_event_dates "
        f"where received_on = {day_sql}) and received_on = {day_sql}",
        f"Silver readings of {day}",
    )
    registered = spark.sql("select count(*) as n from silver.devices").collect()[0]["n"]
    event_dates = [
        row["event_date"].isoformat()
        for row in spark.sql(
            "select event_date from silver.receive_day_event_dates "
            f"where received_on = {day_sql} order by event_date"
        ).collect()
    ]
    return {
        "receive_date": day.isoformat(),
        "event_dates_recomputed": event_dates,
        "bronze_rows": counts["bronze_rows"],
        "silver_rows": counts["silver_rows"],
        "duplicates_dropped": counts["duplicates_dropped"],
        "rejected_rows": counts["rejected_rows"],
        "rejected_rows_by_reason": by_reason,
        "lost_rows": counts["lost_rows"],
        "late_rows": counts["late_rows"],
        "null_counts": {c: readings[c] for c in MEASURED_COLUMNS},
        "flag_counts": {
            "power_capped": readings["is_power_capped"],
            "soc_out_of_range": readings["is_soc_out_of_range"],
            "temperature_out_of_range": readings["is_temperature_out_of_range"],
        },
        "anomalies": readings["anomalies"],
        "devices_reporting": readings["devices_reporting"],
        "devices_registered": registered,
        "dbt_tests": sorted(
            (
                {"name": t.name, "type": t.resource_type, "status": t.status,
                 "failures": t.failures}
                for t in tests
                if t.resource_type in {"test", "unit_test"}
            ),
            key=lambda t: t["name"],
        ),
    }


def write_metrics(lake: Lakehouse, day: dt.date, metrics: dict[str, Any]) -> Path:
    """Write the day's metrics atomically; returns the file's path."""
    path = metrics_path(lake, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
