"""The Bronze job on its own: `spark-submit ingest/bronze.py`, outside the pipeline, with the
catalog and warehouse it is given; and its refusal of a day it cannot find."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from ingest import bronze
from telemetry.settings import PROJECT_DIR
from telemetry.spark import spark_home


def test_spark_submit_lands_a_day_in_bronze(tmp_path):
    raw = tmp_path / "raw"
    site = raw / "2025" / "08" / "01" / "s1"
    site.mkdir(parents=True)
    # LF and CRLF endings, a blank line (counted, not kept), a byte-order mark, a gzip file.
    (site / "d1.jsonl").write_bytes(b'\xef\xbb\xbf{"a": 1}\n\n{"a": 2}\r\nnot json\n')
    (site / "d2.jsonl.gz").write_bytes(gzip.compress(b'{"b": 1}\n'))
    (site / "notes.txt").write_text("not a raw file\n")
    conf = {
        "spark.master": "local[1]",
        "spark.ui.enabled": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.extraJavaOptions": f"-Duser.timezone=UTC -Dderby.system.home={tmp_path}",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(tmp_path / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={tmp_path / 'metastore_db'};create=true",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
    }
    command = [str(spark_home() / "bin" / "spark-submit")]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR), "PYSPARK_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_HOME": str(spark_home())}
    done = subprocess.run(
        [*command, str(PROJECT_DIR / "ingest" / "bronze.py"), "--raw-dir", str(raw),
         "--date", "2025-08-01"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ingested 2025-08-01: 4 lines into bronze.raw_telemetry" in done.stdout
    partition = tmp_path / "warehouse" / "bronze.db" / "raw_telemetry" / "received_on=2025-08-01"
    rows = pq.read_table(partition, columns=["source_file", "line_number", "raw_line"]).to_pylist()
    assert sorted((r["source_file"], r["line_number"], r["raw_line"]) for r in rows) == [
        ("2025/08/01/s1/d1.jsonl", 1, '{"a": 1}'),
        ("2025/08/01/s1/d1.jsonl", 3, '{"a": 2}'),
        ("2025/08/01/s1/d1.jsonl", 4, "not json"),
        ("2025/08/01/s1/d2.jsonl.gz", 1, '{"b": 1}'),
    ]


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
