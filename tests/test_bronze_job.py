"""The Bronze job on its own: `spark-submit ingest/bronze.py`, outside the pipeline, with the
catalog and warehouse it is given; and its refusal of a day it cannot find."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from ingest import bronze
from telemetry.pipeline.readers import iceberg_catalog
from telemetry.settings import PROJECT_DIR, Lakehouse
from telemetry.spark import spark_conf, spark_home


def test_spark_submit_lands_days_in_bronze(tmp_path, lake):
    raw = tmp_path / "raw"
    site = raw / "2025" / "08" / "01" / "s1"
    site.mkdir(parents=True)
    # LF and CRLF endings, a blank line (counted, not kept), a byte-order mark, a gzip file.
    (site / "d1.jsonl").write_bytes(b'\xef\xbb\xbf{"a": 1}\n\n{"a": 2}\r\nnot json\n')
    (site / "d2.jsonl.gz").write_bytes(gzip.compress(b'{"b": 1}\n'))
    (site / "notes.txt").write_text("not a raw file\n")
    # A second day, in the same write, of one line sent 200 times (where Parquet would keep a
    # dictionary); the raw folder reached through a link.
    next_day = raw / "2025" / "08" / "02" / "s1"
    next_day.mkdir(parents=True)
    (next_day / "d1.jsonl").write_text('{"c": 1}\n' * 200)
    link = tmp_path / "raw-link"
    link.symlink_to(raw)
    # A lakehouse of its own: the profile's settings with another data folder.
    other = Lakehouse(home=PROJECT_DIR, data_dir=tmp_path / "data")
    other.catalog_file.parent.mkdir(parents=True)
    os.environ["TELEMETRY_DATA_DIR"], saved = str(other.data_dir), os.environ["TELEMETRY_DATA_DIR"]
    try:
        conf = {**spark_conf(other), "spark.master": "local[1]"}
    finally:
        os.environ["TELEMETRY_DATA_DIR"] = saved
    command = [str(spark_home() / "bin" / "spark-submit")]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR), "PYSPARK_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_HOME": str(spark_home())}
    done = subprocess.run(
        [*command, str(PROJECT_DIR / "ingest" / "bronze.py"), "--raw-dir", str(link),
         "--date", "2025-08-01", "--to", "2025-08-02"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ingested 2025-08-01: 4 lines into bronze.raw_telemetry" in done.stdout
    assert "ingested 2025-08-02: 200 lines into bronze.raw_telemetry" in done.stdout
    rows = iceberg_catalog(other).load_table("bronze.raw_telemetry").scan(
        selected_fields=("received_on", "source_file", "line_number", "raw_line")
    ).to_arrow().to_pylist()
    day, next_day = dt.date(2025, 8, 1), dt.date(2025, 8, 2)
    assert sorted((r["received_on"], r["source_file"], r["line_number"], r["raw_line"])
                  for r in rows) == [
        (day, "2025/08/01/s1/d1.jsonl", 1, '{"a": 1}'),
        (day, "2025/08/01/s1/d1.jsonl", 3, '{"a": 2}'),
        (day, "2025/08/01/s1/d1.jsonl", 4, "not json"),
        (day, "2025/08/01/s1/d2.jsonl.gz", 1, '{"b": 1}'),
        *((next_day, "2025/08/02/s1/d1.jsonl", n, '{"c": 1}') for n in range(1, 201)),
    ]
    # A line's text is written plain, without a dictionary or min/max statistics, even where a
    # dictionary would pay; the file's path keeps both, as Parquet writes by default.
    scan = iceberg_catalog(other).load_table("bronze.raw_telemetry").scan(
        row_filter="received_on = '2025-08-02'")
    (task,) = scan.plan_files()
    footer = pq.ParquetFile(task.file.file_path.removeprefix("file:")).metadata
    group = footer.row_group(0)
    chunks = {group.column(i).path_in_schema: group.column(i) for i in range(footer.num_columns)}
    assert not chunks["raw_line"].has_dictionary_page
    assert not chunks["raw_line"].is_stats_set
    assert chunks["source_file"].has_dictionary_page
    assert chunks["source_file"].is_stats_set


def test_a_missing_day_is_refused_before_spark_starts(tmp_path, capsys):
    (tmp_path / "raw" / "2025" / "08" / "01").mkdir(parents=True)
    assert bronze.main(["--raw-dir", str(tmp_path / "raw"), "--date", "2025-08-01",
                        "--to", "2025-08-02"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("bronze: error: no raw telemetry for 2025-08-01")
    assert "Traceback" not in error


@pytest.mark.parametrize("argv", [["--date", "2025-08-01"], ["--raw-dir", "x", "--date", "8/1"]])
def test_bad_arguments_exit_with_usage(argv):
    with pytest.raises(SystemExit) as stop:
        bronze.main(argv)
    assert stop.value.code == 2


def test_missing_iceberg_jars_are_named_with_the_way_to_get_them(tmp_path):
    from telemetry.settings import LakehouseError
    from telemetry.spark import require_jars

    elsewhere = Lakehouse(home=tmp_path, data_dir=tmp_path / "data")
    with pytest.raises(LakehouseError) as error:
        require_jars(elsewhere)
    message = str(error.value)
    assert "iceberg-spark-runtime-4.1_2.13-1.12.0.jar" in message
    assert "sqlite-jdbc-3.54.1.0.jar" in message
    assert "make install" in message and "telemetry jars" in message
