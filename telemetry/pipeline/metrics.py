"""The quality-metrics JSON of a receive day: `data/metrics/quality_<YYYY-MM-DD>.json`.

Every count comes from the warehouse: the day's row of `silver.receive_day_reconciliation`, the
day's whole book (dbt computes it, and names the rejection reasons and flags). This module reads
that row, adds the dbt test results, and writes the file whole or not at all (a temporary file,
then a rename); a re-run of the day writes the same content (no timestamps, keys and lists sorted).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from telemetry.pipeline.dbt import NodeResult, run_status
from telemetry.settings import Lakehouse, LakehouseError

BOOK_TABLE = "silver.receive_day_reconciliation"


def metrics_path(lake: Lakehouse, day: dt.date) -> Path:
    return lake.metrics_dir / f"quality_{day.isoformat()}.json"


def day_book(spark: SparkSession, day: dt.date) -> dict[str, Any]:
    """The day's row of the reconciliation model, as plain Python values."""
    rows = spark.sql(
        f"select * from {BOOK_TABLE} where received_on = date'{day.isoformat()}'").collect()
    if len(rows) != 1:
        raise LakehouseError(f"reconciliation of {day}: expected one row in {BOOK_TABLE}, found "
                             f"{len(rows)}; was the day built?")
    book = rows[0].asDict(recursive=True)
    book.pop("received_on")
    return book


def quality_metrics(spark: SparkSession, day: dt.date, tests: Iterable[NodeResult],
                    unpublished_branch: str | None = None) -> dict[str, Any]:
    """The day's metrics: its book from the warehouse, the dbt test results and the run's status
    (`passed`, `warned`, `failed`). A failed run's book is read from its unpublished branch (the
    session reads there), and may be missing when the build stopped before it."""
    tests = list(tests)
    status = run_status(tests)
    try:
        book = day_book(spark, day)
        book["event_dates_recomputed"] = [d.isoformat() for d in book["event_dates_recomputed"]]
    except LakehouseError:
        if status != "failed":
            raise
        book = {}
    return {
        **book,
        "receive_date": day.isoformat(),
        "status": status,
        **({"unpublished_branch": unpublished_branch} if unpublished_branch else {}),
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
