"""Every receive day's books stay true: when a later day's copy of a reading wins, the earlier
day's reconciliation row and metrics file are rewritten in the same run, and re-running either
day rewrites both files with the same content. The expected books come from the plain-Python
reference over the raw files."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ingest.layout import day_folder
from telemetry.jobs import run_day
from telemetry.pipeline.registry import REGISTRY_PATH, load_registry
from telemetry.simulator import generate
from tests import reference
from tests.conftest import table_rows

pytestmark = pytest.mark.spark

FIRST, LATER = dt.date(2026, 4, 1), dt.date(2026, 4, 2)
BOOK = ["bronze_rows", "silver_rows", "duplicates_dropped", "rejected_rows"]


def books(spark) -> dict[dt.date, dict[str, int]]:
    return {r[0]: dict(zip(BOOK, r[1:], strict=True)) for r in table_rows(
        spark, f"select received_on, {', '.join(BOOK)} from silver.receive_day_reconciliation "
               f"where received_on in (date'{FIRST}', date'{LATER}')")}


def metrics(lake, day: dt.date) -> bytes:
    return (lake.metrics_dir / f"quality_{day}.json").read_bytes()


@pytest.fixture(scope="module")
def resent(spark, lake):
    """Two days; the later one re-sends a reading of the first with another power value."""
    generate(lake.raw_dir, load_registry(), FIRST, days=2, rows_per_device=24, seed=17)
    first_file = day_folder(lake.raw_dir, FIRST) / "lathrop-ca" / "mp-lathrop-02.jsonl"
    original = next(json.loads(line) for line in first_file.read_text().splitlines()[3:]
                    if line.endswith("}"))
    copy = {**original, "power_w": 4321.5}
    later_file = day_folder(lake.raw_dir, LATER) / "lathrop-ca" / "mp-lathrop-02.jsonl"
    later_file.write_text(later_file.read_text() + json.dumps(copy) + "\n")

    run_day(spark, lake, FIRST)
    state = {"first_alone": books(spark)[FIRST], "first_metrics_alone": metrics(lake, FIRST)}
    run_day(spark, lake, LATER)
    state.update(after_later=books(spark), first_metrics=metrics(lake, FIRST),
                 later_metrics=metrics(lake, LATER), copy=copy)
    lines = reference.raw_lines(lake.raw_dir, {FIRST, LATER})
    outcome = reference.silver(lines, reference.registry(REGISTRY_PATH))
    state["expected"] = {day: {k: book[k] for k in BOOK}
                         for day, book in reference.books(lines, outcome).items()}
    return state


def test_the_later_copy_is_kept(resent, spark):
    rows = table_rows(spark, "select power_w, received_on from silver.readings "
                             "where device_id = 'mp-lathrop-02' "
                             f"and reading_at = timestamp'{resent['copy']['ts']}'")
    assert rows == [(4321.5, LATER)]


def test_both_days_books_equal_the_reference(resent):
    assert resent["after_later"] == resent["expected"]
    # The first day now sent one duplicate more and one reading fewer than when it ran alone.
    alone, now = resent["first_alone"], resent["after_later"][FIRST]
    assert (now["silver_rows"], now["duplicates_dropped"]) == (
        alone["silver_rows"] - 1, alone["duplicates_dropped"] + 1)
    for book in resent["after_later"].values():
        assert book["bronze_rows"] == (book["silver_rows"] + book["duplicates_dropped"]
                                       + book["rejected_rows"])


def test_the_first_days_metrics_file_was_rewritten_by_the_later_run(resent):
    before = json.loads(resent["first_metrics_alone"])
    after = json.loads(resent["first_metrics"])
    assert {k: after[k] for k in BOOK} == resent["expected"][FIRST]
    # Its own tests and status stay those of its own run.
    assert (after["dbt_tests"], after["status"]) == (before["dbt_tests"], before["status"])
    assert {k: json.loads(resent["later_metrics"])[k] for k in BOOK} == resent["expected"][LATER]


@pytest.mark.parametrize("day", [FIRST, LATER])
def test_rerunning_either_day_rewrites_both_files_with_the_same_content(resent, spark, lake,
                                                                        day):
    run_day(spark, lake, day)
    assert metrics(lake, FIRST) == resent["first_metrics"]
    assert metrics(lake, LATER) == resent["later_metrics"]
    assert books(spark) == resent["after_later"]
