"""Bronze ingest: every line of a receive day's raw files, as received, with where it came from.

extract -> transform -> load: `extract` reads whole files with an explicit schema (no inference on
raw data), `transform` is a pure DataFrame -> DataFrame function that splits them into numbered
lines, `load` overwrites the day's partition of the Bronze table (Apache Iceberg) and nothing else.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
from pathlib import Path

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DateType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from ingest.layout import BRONZE_TABLE, RawDataError, raw_files

RAW_FILE_SCHEMA = StructType([StructField("value", StringType(), nullable=False)])

BRONZE_SCHEMA = StructType([
    StructField("raw_line", StringType(), nullable=False),
    StructField("source_file", StringType(), nullable=False),
    StructField("line_number", IntegerType(), nullable=False),
    StructField("ingested_at", TimestampType(), nullable=False),
    StructField("received_on", DateType(), nullable=False),
])

# The properties Bronze's writes rely on; a table made before one of them was set gets it when a
# run opens its branch (telemetry/pipeline/publish.py). Write-audit-publish, and Parquet row
# groups of about 2 MiB of lines (about 40,000), not Parquet's 128 MiB: a day's files are then
# read in splits of similar size. Each of a 1 Hz day's four files was one row group, read by a
# task of its own, so staging parsed the day in three or four unequal tasks on two cores, and
# one core waited for the longest.
# A line's text is written plain, without a dictionary and without Parquet's min/max statistics:
# lines are all different, so the dictionary Parquet tries first was built for every row group
# and then dropped, and no query filters on the text. 30 seed-rate days (1,080,907 lines) written
# in one warm JVM, 4 rounds each in turn: 1.35 s against 1.72 s median, the same rows.
BRONZE_WRITE_PROPERTIES = {
    "write.wap.enabled": "true",
    "write.parquet.row-group-size-bytes": str(2 * 2**20),
    "write.parquet.dict-encoding-enabled.column.raw_line": "false",
    "write.parquet.stats-enabled.column.raw_line": "false",
}
# Every table's (Bronze's and each model's, dbt_project.yml): a read packs its files into tasks
# counting each file as at least 1 MiB, not Iceberg's 4 MiB. A range of days is many small files
# (30 seed-rate days: 124 of Silver's readings, none over 0.15 MB), which Iceberg read 4 to a task,
# 31 tasks where 8 do; a 1 Hz day's files are larger than either and read as before. The seven
# heaviest data tests of 30 seed-rate days, in one warm JVM, 6 rounds in turn: 0.93 of the time
# (0.76 to 0.97); of a 1 Hz day, 4 rounds: 0.96 (0.89 to 0.97).
TABLE_READ_PROPERTIES = {
    "read.split.open-file-cost": str(2**20),
}


def extract(spark: SparkSession, files: list[Path]) -> DataFrame:
    """One row per raw file: its whole text (gzip is decompressed) and its path."""
    return (
        spark.read.schema(RAW_FILE_SCHEMA)
        .text([str(path) for path in files], wholetext=True)
        .select(F.col("value").alias("content"), F.col("_metadata.file_path").alias("file_path"))
    )


def _relative_path(file_path: Column, raw_dir: Path) -> Column:
    """The file's path below the raw folder, e.g. `2025/08/01/lathrop-ca/mp-lathrop-01.jsonl`;
    the raw folder as given or, when it is reached through a link, as resolved."""
    prefixes = sorted({Path(os.path.abspath(raw_dir)).as_posix(), raw_dir.resolve().as_posix()})
    return F.regexp_replace(
        F.regexp_replace(file_path, r"^file:(//)?", ""),
        "^(" + "|".join(re.escape(prefix + "/") for prefix in prefixes) + ")",
        "",
    )


def transform(files: DataFrame, raw_dir: Path, ingested_at: dt.datetime) -> DataFrame:
    """Numbered lines of each file: LF or CRLF endings, a leading byte-order mark dropped, blank
    lines skipped (they keep their number in the count, so line numbers match an editor's). The
    receive day is the file's day folder (`YYYY/MM/DD/...` below the raw folder).

    What is the same for every line of a file (its path, its day) is worked out once per file,
    before the file is split, and the byte-order mark is looked for on its first line only: a
    regular expression over the whole text and a date parsed per line cost together about 0.8 s of
    a 1 Hz day's lines in a new JVM."""
    files = files.select(_relative_path(F.col("file_path"), raw_dir).alias("source_file"),
                         "content")
    lines = files.select(
        "source_file",
        F.to_date(F.substring("source_file", 1, 10), "yyyy/MM/dd").alias("received_on"),
        F.posexplode(F.split(F.col("content"), "\n")).alias("position", "line"),
    )
    line = F.col("line")
    has_mark = (F.col("position") == 0) & line.startswith("\ufeff")
    lines = lines.select(
        "source_file", "received_on", "position",
        F.when(has_mark, F.expr("substring(line, 2)")).otherwise(line).alias("line"),
    )
    without_cr = F.when(line.endswith("\r"), F.expr("substring(line, 1, length(line) - 1)"))
    return lines.select(
        without_cr.otherwise(line).alias("raw_line"),
        "source_file",
        (F.col("position") + 1).cast("int").alias("line_number"),
        F.lit(ingested_at).cast("timestamp").alias("ingested_at"),
        "received_on",
    ).where(F.col("raw_line").rlike(r"\S"))


def properties_sql(properties: dict[str, str]) -> str:
    """Table properties as `tblproperties (...)` lists them: `'key' = 'value', ...`."""
    return ", ".join(f"'{key}' = '{value}'" for key, value in properties.items())


def ensure_bronze_table(spark: SparkSession) -> None:
    """Create the Bronze table (an Iceberg table, format version 2) when it does not exist. Its
    writes go to the branch `spark.wap.branch` names, when the session sets one."""
    schema, _ = BRONZE_TABLE.split(".")
    spark.sql(f"create namespace if not exists {schema}")
    columns = ", ".join(
        f"{field.name} {field.dataType.simpleString()}" for field in BRONZE_SCHEMA.fields
    )
    spark.sql(
        f"create table if not exists {BRONZE_TABLE} ({columns}) "
        "using iceberg partitioned by (received_on) "
        "comment 'Every raw telemetry line as received, partitioned by receive day' "
        "tblproperties ('format-version' = '2', 'write.distribution-mode' = 'none', "
        f"{properties_sql({**BRONZE_WRITE_PROPERTIES, **TABLE_READ_PROPERTIES})})"
    )


def load(spark: SparkSession, lines: DataFrame, days: list[dt.date]) -> dict[dt.date, int]:
    """Replace the Bronze partitions of `days` (and only them) with `lines`; the number of lines
    written per day, counted as they are written (the partitions are not read back).

    The rows replace the days' partitions in one write and one Iceberg commit (a dynamic
    partition overwrite): a reader sees the days' old lines or their new ones, and runs of other
    days may load at the same time. Writing no rows would leave a partition as it was, so the
    days whose files hold no lines have their rows deleted instead."""
    ensure_bronze_table(spark)
    columns = [field.name for field in BRONZE_SCHEMA.fields]
    written = Observation("bronze_lines")
    received_on = F.col("received_on")
    per_day = [F.count_if(received_on == F.lit(day)).alias(f"d{i}") for i, day in enumerate(days)]
    rows = lines.observe(written, F.count(F.lit(1)).alias("lines"), *per_day).select(*columns)
    rows = rows.coalesce(4)
    if len(days) > 1:
        # Each task writes its days one after the other, one open file at a time: a fan-out
        # writer would hold a file (and its buffers) open for every day of a long range.
        rows = rows.sortWithinPartitions("received_on")
    rows.writeTo(BRONZE_TABLE).option("fanout-enabled", str(len(days) == 1).lower()) \
        .overwritePartitions()
    metrics = written.get
    counts = {day: int(metrics[f"d{i}"]) for i, day in enumerate(days)}
    if sum(counts.values()) != metrics["lines"]:
        raise RawDataError(
            f"{metrics['lines'] - sum(counts.values()):,} lines came from files whose path below "
            f"the raw folder does not start with a day folder of {days[0]} to {days[-1]} "
            "(YYYY/MM/DD); stopping (a pipeline run publishes nothing of its days)")
    empty = [day for day, count in counts.items() if count == 0]
    if empty:
        listed = ", ".join(f"date'{day}'" for day in empty)
        spark.sql(f"delete from {BRONZE_TABLE} where received_on in ({listed})")
    return counts


def ingest_days(spark: SparkSession, raw_dir: Path, days: list[dt.date]) -> dict[dt.date, int]:
    """Land every line of the days' raw files in Bronze, all days in one write; the number of
    Bronze rows per day. Every day's files are found first: a day that cannot be read lands
    nothing of any day."""
    files = [path for day in days for path in raw_files(raw_dir, day)]
    ingested_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    return load(spark, transform(extract(spark, files), raw_dir, ingested_at), days)


def ingest_day(spark: SparkSession, raw_dir: Path, day: dt.date) -> int:
    """Land every line of the day's raw files in Bronze; returns the number of Bronze rows."""
    return ingest_days(spark, raw_dir, [day])[day]


def main(argv: list[str] | None = None) -> int:
    """`spark-submit ingest/bronze.py --raw-dir DIR --date YYYY-MM-DD [--to YYYY-MM-DD]`: the job
    on its own, in the session spark-submit configures (its catalog and warehouse). Every day's
    files are found before Spark starts, so a missing day fails at once and lands nothing."""
    parser = argparse.ArgumentParser(
        prog="bronze", description="Land every line of receive days' raw files in Bronze.")
    parser.add_argument("--raw-dir", type=Path, required=True,
                        help="the raw folder, holding YYYY/MM/DD/<site>/<device>.jsonl")
    parser.add_argument("--date", type=dt.date.fromisoformat, required=True,
                        help="first receive day, YYYY-MM-DD")
    parser.add_argument("--to", type=dt.date.fromisoformat, help="last receive day of a range")
    args = parser.parse_args(argv)
    raw_dir = args.raw_dir.resolve()
    days = [args.date + dt.timedelta(days=i)
            for i in range(((args.to or args.date) - args.date).days + 1)]
    try:
        for day in days:
            raw_files(raw_dir, day)
    except RawDataError as error:
        print(f"bronze: error: {error}", file=sys.stderr)
        return 2
    spark = SparkSession.builder.appName("bronze-ingest").getOrCreate()
    try:
        for day, rows in ingest_days(spark, raw_dir, days).items():
            print(f"ingested {day}: {rows:,} lines into {BRONZE_TABLE}")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
