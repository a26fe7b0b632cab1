"""Write, audit, publish: a run's new data is invisible to readers until its tests have passed.

A run writes every table it changes on an Iceberg branch of its own (`run_YYYYMMDD`, made from
`main` when the run starts; `spark.wap.branch` sends the session's writes, and its reads, there).
dbt's data tests then audit the branch. Only when every error-severity test passed are the
branches published: for each table one fast-forward of `main` to the run's branch, a single
atomic commit, so a reader sees a table's whole old version or its whole new one. A run that
fails keeps its branches for the operator to inspect (`... version as of 'run_YYYYMMDD'`).

Runs publish one at a time (a lock in the data folder). A run whose tables' `main` moved on after
it began (another run published meanwhile) publishes nothing and says so: re-running it
recomputes the day from the newer data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pyspark.sql import SparkSession

from ingest.bronze import (
    BRONZE_TABLE,
    BRONZE_WRITE_PROPERTIES,
    TABLE_READ_PROPERTIES,
    properties_sql,
)
from telemetry.pipeline.tables import PUBLISHED_TABLES
from telemetry.settings import CATALOG_NAME, Lakehouse, LakehouseError

WAP_BRANCH_CONF = "spark.wap.branch"
T = TypeVar("T")
_BRANCH = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class PublishConflict(LakehouseError):
    """Another run published a table after this run began; this run published nothing."""


def run_branch(day: dt.date, to: dt.date | None = None) -> str:
    """The branch of the run for a receive day (`run_YYYYMMDD`), or for the range of receive days
    from `day` to `to` (`run_YYYYMMDD_YYYYMMDD`)."""
    if to is None or to == day:
        return f"run_{day:%Y%m%d}"
    return f"run_{day:%Y%m%d}_{to:%Y%m%d}"


def check_branch(branch: str) -> str:
    if not _BRANCH.match(branch):
        raise LakehouseError(f"{branch!r} is not a branch name (lowercase letters, digits, _)")
    return branch


def metadata_change(spark: SparkSession, statement: str, attempts: int = 8) -> None:
    """Run a statement that commits table metadata (a branch, a property), again when another
    process committed to the same table meanwhile: Spark's branch statements do not retry an
    Iceberg commit that lost the race, as data writes do."""
    for attempt in range(1, attempts + 1):
        try:
            spark.sql(statement)
            return
        except Exception as error:  # pyspark raises its own classes, embedded and over Connect
            if "CommitFailedException" not in str(error):
                raise
            if attempt == attempts:
                raise LakehouseError(f"{statement}: the table kept changing under "
                                     f"{attempts} attempts; try again") from None
            time.sleep(0.2 * attempt)


def write_properties(table: str) -> dict[str, str]:
    """The table properties a run relies on: write-audit-publish and how reads pack files into
    tasks on every table, and Bronze's Parquet settings (tables made before one was set get it
    at their next run)."""
    written = BRONZE_WRITE_PROPERTIES if table == BRONZE_TABLE else {"write.wap.enabled": "true"}
    return {**written, **TABLE_READ_PROPERTIES}


def _missing_properties(spark: SparkSession, table: str) -> dict[str, str]:
    rows = spark.sql(f"show tblproperties {CATALOG_NAME}.{table}").collect()
    have = {str(key): str(value).lower() for key, value in rows}
    return {key: value for key, value in write_properties(table).items()
            if have.get(key) != value.lower()}


def open_branch(spark: SparkSession, branch: str) -> None:
    """Start the run's branch from `main` on every table a run writes, replacing what an earlier
    attempt left, and send this session's writes and reads to it; a table missing one of its
    `write_properties` gets it first. The tables are independent commits, made side by side.
    Names carry the catalog: Iceberg's branch statements otherwise try the schema as a catalog
    first, and log a stack trace for each table.

    A model's table that does not exist yet (a new lakehouse, a model new to the project) is
    created by the build, and its rows written on the branch all the same (its `write.wap.enabled`
    comes with it): its `main` has no snapshot, so readers see it empty until it is published."""
    check_branch(branch)
    spark.conf.unset(WAP_BRANCH_CONF)

    def start(table: str) -> None:
        name = f"{CATALOG_NAME}.{table}"
        if not spark.catalog.tableExists(name):
            return
        missing = _missing_properties(spark, table)
        if missing:
            metadata_change(
                spark, f"alter table {name} set tblproperties ({properties_sql(missing)})")
        try:
            metadata_change(spark, f"alter table {name} create or replace branch {branch}")
        except Exception as error:  # pyspark raises its own classes, embedded and over Connect
            if "main has no snapshot" not in str(error):
                raise
            # Iceberg replaces a branch with `main`'s snapshot only: a table nothing was
            # published to yet (a new lakehouse whose first run failed) starts it again.
            metadata_change(spark, f"alter table {name} drop branch {branch}")
            metadata_change(spark, f"alter table {name} create branch {branch}")

    each_table(start, PUBLISHED_TABLES)
    spark.conf.set(WAP_BRANCH_CONF, branch)


def each_table(work: Callable[[str], T], tables: Sequence[str]) -> list[T]:
    """`work` for every table, side by side (each is a few metadata reads and commits, mostly
    waiting); the results in the tables' order, or the first table's error."""
    with ThreadPoolExecutor(max_workers=len(tables) or 1) as pool:
        return list(pool.map(work, tables))


def use_branch(spark: SparkSession, branch: str) -> None:
    """Send this session's reads (and writes) to an existing branch of the run."""
    spark.conf.set(WAP_BRANCH_CONF, check_branch(branch))


def is_unpublished(spark: SparkSession, branch: str) -> bool:
    """True while a run's branch is still there: publishing drops it once `main` has it."""
    return ref_snapshot(spark, BRONZE_TABLE, check_branch(branch)) is not None


def close_branch(spark: SparkSession) -> None:
    """Send this session's reads and writes back to `main`."""
    spark.conf.unset(WAP_BRANCH_CONF)


def ref_snapshot(spark: SparkSession, table: str, ref: str) -> int | None:
    """The snapshot a branch (`main`, a run's) points to; None when the table has no such ref."""
    return ref_snapshots(spark, table, [ref])[ref]


def ref_snapshots(spark: SparkSession, table: str, refs: Sequence[str]) -> dict[str, int | None]:
    """The snapshot each of `refs` points to, read in one query; None for a ref the table lacks."""
    listed = ", ".join(f"'{ref}'" for ref in refs)
    rows = spark.sql(f"select name, snapshot_id from {CATALOG_NAME}.{table}.refs "
                     f"where name in ({listed})").collect()
    found = {row["name"]: row["snapshot_id"] for row in rows}
    return {ref: found.get(ref) for ref in refs}


def _is_ancestor(spark: SparkSession, table: str, ancestor: int | None, head: int) -> bool:
    if ancestor is None or ancestor == head:
        return True
    query = f"select snapshot_id, parent_id from {CATALOG_NAME}.{table}.snapshots"
    parents = {r["snapshot_id"]: r["parent_id"] for r in spark.sql(query).collect()}
    current: int | None = head
    while current is not None:
        if current == ancestor:
            return True
        current = parents.get(current)
    return False


@contextlib.contextmanager
def publish_lock(lake: Lakehouse) -> Iterator[None]:
    """One publisher at a time on this lakehouse: others wait here."""
    lake.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lake.data_dir / ".publish.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def publish(spark: SparkSession, lake: Lakehouse, branch: str) -> list[str]:
    """Fast-forward `main` of every table to the run's branch, then drop the branch; the tables
    published. Nothing is published when any table's `main` is no longer where the branch
    started (PublishConflict)."""
    check_branch(branch)
    close_branch(spark)
    with publish_lock(lake):

        def branch_head(table: str) -> int | None:
            """The branch's head, when `main` can be fast-forwarded to it."""
            refs = ref_snapshots(spark, table, ["main", branch])
            head = refs[branch]
            if head is not None and not _is_ancestor(spark, table, refs["main"], head):
                raise PublishConflict(
                    f"{table} was published by another run after this run began; nothing of "
                    f"this run was published (its branch {branch!r} is kept). Run the day again."
                )
            return head

        found = each_table(branch_head, PUBLISHED_TABLES)
        heads = {table: head for table, head in zip(PUBLISHED_TABLES, found, strict=True)
                 if head is not None}

        def fast_forward(table: str) -> None:
            metadata_change(spark, f"call {CATALOG_NAME}.system.fast_forward("
                                   f"'{CATALOG_NAME}.{table}', 'main', '{branch}')")

        each_table(fast_forward, list(heads))

        def drop(table: str) -> None:
            metadata_change(spark, f"alter table {CATALOG_NAME}.{table} "
                                   f"drop branch if exists {branch}")

        each_table(drop, list(heads))
    return list(heads)
