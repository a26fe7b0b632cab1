"""Spark alone on the ingest's input: read a receive day's raw JSON with an explicit schema and
write it as Parquet, nothing else. The rate the Bronze ingest is compared with.

    python bench/spark_alone.py --raw-dir DIR --date D --out DIR
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from pyspark.sql import SparkSession

from bench.baseline import RAW_SCHEMA, with_settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--raw-dir", type=Path, required=True)
    parser.add_argument("--date", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="a Spark setting (the benchmark passes the profile's driver JVM: "
                             "its options, class path and local file system)")
    args = parser.parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (SparkSession.builder.master("local[*]").appName("spark-alone")
               .config("spark.driver.memory", "2g").config("spark.ui.enabled", "false")
               .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
               .config("spark.sql.session.timeZone", "UTC"))
    spark = with_settings(builder, args.conf).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    year, month, day = args.date.split("-")
    started = time.perf_counter()
    frame = spark.read.schema(RAW_SCHEMA).json(str(args.raw_dir / year / month / day / "*" / "*"))
    frame.write.mode("overwrite").parquet(str(args.out))
    seconds = time.perf_counter() - started
    rows = spark.read.parquet(str(args.out)).count()
    spark.stop()
    print(json.dumps({"read_write_s": seconds, "rows": rows}))


if __name__ == "__main__":
    main()
