"""The `telemetry` command line: clear errors, exit codes, no stack traces."""

from __future__ import annotations

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
def test_a_second_process_on_the_embedded_lakehouse_is_refused_at_once(spark, lake):
    done = telemetry("run", "--date", "2025-08-01")
    assert done.returncode == 2
    assert f"is using the embedded lakehouse at {lake.data_dir}" in done.stderr
    assert f"pid {os.getpid()}" in done.stderr
    assert "Traceback" not in done.stderr


def test_generate_writes_the_days_it_says(tmp_path):
    done = telemetry("generate", "--start", "2025-08-01", "--days", "2", "--rows-per-device",
                     "12", env={"TELEMETRY_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "generated 2025-08-01" in done.stdout and "generated 2025-08-02" in done.stdout
    assert len(list((tmp_path / "raw/2025/08/02").glob("*/*.jsonl"))) == 25
