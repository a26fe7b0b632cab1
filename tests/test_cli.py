"""The `telemetry` command line: clear errors, exit codes, no stack traces."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest


def telemetry(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "telemetry.cli", *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("date", ["2025-02-30", "yesterday", "2025-8-1", "20250801"])
def test_a_bad_date_is_refused_with_a_clear_message(date):
    done = telemetry("run", "--date", date)
    assert done.returncode == 2
    assert f"not a date in YYYY-MM-DD form: {date!r}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_range_that_ends_before_it_starts_is_refused(tmp_path):
    done = telemetry("ingest", "--date", "2025-08-02", "--to", "2025-08-01",
                     env={"TELEMETRY_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2
    assert "--to 2025-08-01 is before --date 2025-08-02" in done.stderr


@pytest.mark.spark
def test_a_second_process_shares_the_embedded_lakehouse(spark, lake):
    # The Iceberg catalog admits several processes: a `telemetry ingest` of its own JVM lands a
    # day while this process holds its session, and this session then reads what it wrote.
    day = dt.date(2026, 3, 3)
    site = lake.raw_dir / "2026" / "03" / "03" / "lathrop-ca"
    site.mkdir(parents=True)
    (site / "mp-lathrop-01.jsonl").write_text('{"a": 1}\n\n{"b": 2}\nthree\n')
    # No _SUCCESS marker: the day is refused until it is told to take the files as they are.
    refused = telemetry("ingest", "--date", str(day))
    assert refused.returncode == 2
    assert f"receive day {day} is not complete: {site.parent / '_SUCCESS'} does not exist" \
        in refused.stderr
    done = telemetry("ingest", "--date", str(day), "--allow-incomplete")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"ingested {day}: 3 lines into bronze.raw_telemetry" in done.stdout
    spark.sql("refresh table bronze.raw_telemetry")
    rows = spark.sql("select line_number, raw_line from bronze.raw_telemetry "
                     f"where received_on = date'{day}' order by line_number").collect()
    assert [tuple(r) for r in rows] == [(1, '{"a": 1}'), (3, '{"b": 2}'), (4, "three")]


def test_generate_writes_the_days_it_says(tmp_path):
    done = telemetry("generate", "--start", "2025-08-01", "--days", "2", "--rows-per-device",
                     "12", env={"TELEMETRY_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "generated 2025-08-01" in done.stdout and "generated 2025-08-02" in done.stdout
    assert len(list((tmp_path / "raw/2025/08/02").glob("*/*.jsonl"))) == 25
