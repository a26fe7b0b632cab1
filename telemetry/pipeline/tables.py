"""The tables a run writes, by name: importing them needs no Spark (the DAG files do)."""

from __future__ import annotations

from ingest.layout import BRONZE_TABLE

# Every table a run writes, in the order a run writes them.
PUBLISHED_TABLES = (
    BRONZE_TABLE,
    "silver.stg_bronze__raw_telemetry",
    "silver.int_receive_day_event_dates",
    "silver.quarantine",
    "silver.readings",
    "silver.receive_day_reconciliation",
    "gold.site_daily_kpis",
)
GOLD_TABLE = "gold.site_daily_kpis"
RECONCILIATION_TABLE = "silver.receive_day_reconciliation"
