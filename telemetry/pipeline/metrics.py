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

from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession

from telemetry.pipeline.dbt import NodeResult, run_status
from telemetry.pipeline.tables import RECONCILIATION_TABLE
from telemetry.settings import Lakehouse, LakehouseError


def metrics_path(lake: Lakehouse, day: dt.date) -> Path:
    return lake.metrics_dir / f"quality_{day.isoformat()}.json"


def _book(row: Any) -> dict[str, Any]:
    """A row of the reconciliation model as the metrics JSON holds it."""
    book = row.asDict(recursive=True)
    book.pop("received_on")
    book["event_dates_recomputed"] = [d.isoformat() for d in book["event_dates_recomputed"]]
    return book


# Receive day -> its rows of the reconciliation model (one when it was built), as _book gives them.
Books = dict[dt.date, list[dict[str, Any]]]


def read_books(spark: SparkSession) -> Books:
    """Every row of the reconciliation model by receive day, as plain Python values, in one
    query: a run of many days reads its books once, not one query per day."""
    try:
        rows = spark.sql(f"select * from {RECONCILIATION_TABLE}").collect()
    except AnalysisException as error:
        # A new lakehouse's build that stopped before the model made its table.
        if error.getCondition() != "TABLE_OR_VIEW_NOT_FOUND":
            raise
        rows = []
    books: Books = {}
    for row in rows:
        books.setdefault(row["received_on"], []).append(_book(row))
    return books


def day_book(books: Books, day: dt.date) -> dict[str, Any]:
    """The day's row of the reconciliation model among `books` (read_books)."""
    rows = books.get(day, [])
    if len(rows) != 1:
        raise LakehouseError(f"reconciliation of {day}: expected one row in "
                             f"{RECONCILIATION_TABLE}, found {len(rows)}; was the day built?")
    return rows[0]


def restate_books(lake: Lakehouse, books: Books) -> list[Path]:
    """Bring every receive day's metrics file in line with its book in the warehouse (`books`,
    read_books), keeping the day's own test results and status; the files rewritten. A run that
    recomputes an event date may change the book of an earlier (or later) receive day: a later
    copy of a reading won, so the earlier day sent one more duplicate and one reading fewer."""
    rewritten = []
    for day, rows in books.items():
        path = metrics_path(lake, day)
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        for book in rows:
            updated = {**current, **book}
            if updated != current:
                write_metrics(lake, day, updated)
                rewritten.append(path)
                current = updated
    return rewritten


def quality_metrics(day: dt.date, tests: Iterable[NodeResult], books: Books,
                    unpublished_branch: str | None = None) -> dict[str, Any]:
    """The day's metrics: its book from the warehouse (`books`, read_books), the dbt test results
    and the run's status (`passed`, `warned`, `failed`). A failed run's books are read from its
    unpublished branch, and its day's book may be missing when the build stopped before it."""
    tests = list(tests)
    status = run_status(tests)
    try:
        book = day_book(books, day)
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
            (_test_entry(t) for t in tests if t.resource_type in {"test", "unit_test"}),
            key=lambda t: t["name"],
        ),
    }


def _test_entry(test: NodeResult) -> dict[str, Any]:
    """A test's result; for one that did not pass, where its failing rows can be read (the view
    the test stored them in, else the query that returns them) or why it could not run."""
    entry: dict[str, Any] = {"name": test.name, "type": test.resource_type,
                             "status": test.status, "failures": test.failures}
    if test.status in {"fail", "warn"}:
        if test.relation_name:
            entry["failing_rows"] = f"select * from {test.relation_name}"
        elif test.compiled_code:
            entry["failing_rows"] = test.compiled_code.strip()
    elif test.status == "error":
        entry["message"] = test.message
    return entry


def write_metrics(lake: Lakehouse, day: dt.date, metrics: dict[str, Any]) -> Path:
    """Write the day's metrics atomically; returns the file's path."""
    path = metrics_path(lake, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
