"""A table's history: its snapshots, and rolling it back to an earlier one (Iceberg keeps every
published version until its snapshots expire; `telemetry maintain` expires old ones)."""

from __future__ import annotations

import datetime as dt
import re

from pyspark.sql import SparkSession

from telemetry.pipeline.publish import ref_snapshot
from telemetry.pipeline.tables import PUBLISHED_TABLES
from telemetry.settings import CATALOG_NAME, LakehouseError

# Every table of the lakehouse: those a run publishes, and the registry's seed.
LAKEHOUSE_TABLES = (*PUBLISHED_TABLES, "silver.devices")


def check_table(table: str) -> str:
    if table not in LAKEHOUSE_TABLES:
        raise LakehouseError(f"{table!r} is not a table of the lakehouse; one of: "
                             + ", ".join(LAKEHOUSE_TABLES))
    return table


def snapshots(spark: SparkSession, table: str) -> list[dict[str, object]]:
    """The table's snapshots on `main`, oldest first: when, id, and what the commit did."""
    check_table(table)
    rows = spark.sql(
        f"select h.made_current_at, h.snapshot_id, s.operation, h.is_current_ancestor "
        f"from {CATALOG_NAME}.{table}.history h "
        f"left join {CATALOG_NAME}.{table}.snapshots s on h.snapshot_id = s.snapshot_id "
        "order by h.made_current_at").collect()
    return [row.asDict() for row in rows]


def rollback(spark: SparkSession, table: str, to: str) -> int:
    """Make an earlier version of the table current again: `to` is a snapshot id, or a time
    (`YYYY-MM-DD HH:MM:SS`, UTC: the version current then). The snapshot id now current."""
    check_table(table)
    name = f"'{CATALOG_NAME}.{table}'"
    if re.fullmatch(r"\d{1,19}", to):
        known = {r["snapshot_id"] for r in spark.sql(
            f"select snapshot_id from {CATALOG_NAME}.{table}.snapshots").collect()}
        if int(to) not in known:
            raise LakehouseError(f"{table} has no snapshot {to}; 'telemetry history --table "
                                 f"{table}' lists them")
        spark.sql(f"call {CATALOG_NAME}.system.rollback_to_snapshot({name}, {int(to)})")
    else:
        try:
            when = dt.datetime.fromisoformat(to)
        except ValueError:
            raise LakehouseError(f"--to {to!r} is neither a snapshot id nor a time "
                                 "(YYYY-MM-DD HH:MM:SS, UTC)") from None
        spark.sql(f"call {CATALOG_NAME}.system.rollback_to_timestamp("
                  f"{name}, timestamp '{when:%Y-%m-%d %H:%M:%S.%f}')")
    return ref_snapshot(spark, table, "main")


def maintain(spark: SparkSession, keep_days: int = 7, retain_last: int = 5,
             orphan_age_days: int = 3) -> dict[str, dict[str, int]]:
    """Table maintenance: expire the snapshots older than `keep_days` (keeping the last
    `retain_last` and those a branch still points to), which deletes the data files no kept
    snapshot uses, then remove files no snapshot knows (a killed write's leftovers) older than
    `orphan_age_days` (Iceberg refuses less than a day: a running write's files are orphans
    until it commits). What each table gave up."""
    if keep_days < 0 or retain_last < 1 or orphan_age_days < 1:
        raise LakehouseError("maintenance keeps at least the last snapshot of each table, and "
                             "orphan files younger than a day")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    expire_before = now - dt.timedelta(days=keep_days)
    orphans_before = now - dt.timedelta(days=orphan_age_days)
    done: dict[str, dict[str, int]] = {}
    for table in LAKEHOUSE_TABLES:
        if not spark.catalog.tableExists(table):
            continue
        name = f"'{CATALOG_NAME}.{table}'"
        expired = spark.sql(
            f"call {CATALOG_NAME}.system.expire_snapshots(table => {name}, "
            f"older_than => timestamp '{expire_before:%Y-%m-%d %H:%M:%S}', "
            f"retain_last => {retain_last})").collect()[0].asDict()
        orphans = spark.sql(
            f"call {CATALOG_NAME}.system.remove_orphan_files(table => {name}, "
            f"older_than => timestamp '{orphans_before:%Y-%m-%d %H:%M:%S}')").collect()
        done[table] = {"data_files_deleted": int(expired.get("deleted_data_files_count", 0)),
                       "orphan_files_deleted": len(orphans)}
    return done
