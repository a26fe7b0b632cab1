"""The benchmark's baseline: one hand-written PySpark job doing the work of Silver + Gold for a
receive day of well-formed input, started as its own process the way a spark-submit job is.

It keeps to SPEC.md's arithmetic (deduplication, cleaning, covered_s, the KPIs) and skips what
well-formed input does not need (quarantine, reconciliation, tests, late data across days, a
metastore): it reads the raw JSON with an explicit schema and writes Parquet folders.

    python bench/baseline.py --raw-dir DIR --registry seeds/devices.csv --date D --out DIR
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

RAW_SCHEMA = StructType([
    StructField("device_id", StringType()),
    StructField("site_id", StringType()),
    StructField("ts", StringType()),
    StructField("power_w", DoubleType()),
    StructField("soc_percent", DoubleType()),
    StructField("temperature_c", DoubleType()),
    StructField("status", StringType()),
])
MAX_GAP_S = 900.0


def with_settings(builder: SparkSession.Builder, settings: list[str]) -> SparkSession.Builder:
    """The builder with each `KEY=VALUE` of `--conf` (the profile's driver JVM, from the
    benchmark) set; the hand-written job and Spark alone take them alike."""
    for setting in settings:
        key, _, value = setting.partition("=")
        builder = builder.config(key, value)
    return builder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--raw-dir", type=Path, required=True)
    parser.add_argument("--registry", type=Path, required=True)
    parser.add_argument("--date", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="a Spark setting (the benchmark passes the profile's driver JVM: "
                             "its options, class path and local file system)")
    args = parser.parse_args()

    started = time.perf_counter()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master(args.master).appName("telemetry-baseline")
        .config("spark.driver.memory", args.driver_memory)
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
    )
    spark = with_settings(builder, args.conf).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    session_s = time.perf_counter() - started

    year, month, day = args.date.split("-")
    raw = spark.read.schema(RAW_SCHEMA).json(str(args.raw_dir / year / month / day / "*" / "*"))
    devices = spark.read.option("header", True).option("inferSchema", True).csv(
        str(args.registry))

    readings = (
        raw.where(F.col("device_id").isNotNull())
        .withColumn("reading_at", F.to_timestamp("ts"))
        .where(F.col("reading_at").isNotNull())
        .withColumn("event_date", F.to_date("reading_at"))
        .withColumn("file", F.input_file_name())
    )
    latest = Window.partitionBy("device_id", "reading_at").orderBy(F.col("file").desc())
    deduplicated = (readings.withColumn("rank", F.row_number().over(latest))
                    .where("rank = 1").drop("rank", "file", "site_id"))
    cleaned = deduplicated.select(
        "device_id", "status", "event_date", "reading_at",
        F.when(F.col("power_w") < 0, 0.0).otherwise(F.col("power_w")).alias("power_w"),
        F.when(F.col("soc_percent").between(0, 100), F.col("soc_percent")).alias("soc_percent"),
        F.when(F.col("temperature_c").between(-40, 85), F.col("temperature_c"))
        .alias("temperature_c"),
        (F.col("power_w") < 0).alias("is_power_capped"),
        (~F.col("soc_percent").between(0, 100)).alias("is_soc_out_of_range"),
        (~F.col("temperature_c").between(-40, 85)).alias("is_temperature_out_of_range"),
    )
    silver = cleaned.join(F.broadcast(devices), "device_id").withColumn(
        "is_anomaly",
        F.coalesce(F.col("is_power_capped"), F.lit(False))
        | F.coalesce(F.col("is_soc_out_of_range"), F.lit(False))
        | F.coalesce(F.col("is_temperature_out_of_range"), F.lit(False))
        | (F.col("status") == "fault"),
    ).repartition("event_date", "site_id").cache()
    silver.write.mode("overwrite").partitionBy("event_date", "site_id").parquet(
        str(args.out / "readings"))

    device_day = Window.partitionBy("device_id", "event_date").orderBy("reading_at")
    midnight = F.unix_micros(F.date_add("event_date", 1).cast("timestamp"))
    covered = silver.withColumn(
        "covered_s",
        F.least(
            (F.coalesce(F.unix_micros(F.lead("reading_at").over(device_day)), midnight)
             - F.unix_micros("reading_at")) / 1e6,
            F.lit(MAX_GAP_S),
        ),
    )
    registered = devices.groupBy("site_id").agg(F.count("*").alias("devices_registered"))
    totals = covered.groupBy("event_date", "site_id").agg(
        F.sum(F.coalesce("power_w", F.lit(0.0)) * F.col("covered_s") / 3600.0)
        .alias("energy_wh_total"),
        F.max("power_w").alias("peak_power_w"),
        F.avg("temperature_c").alias("avg_temp_c"),
        F.sum(F.when(F.col("status") == "online", F.col("covered_s")).otherwise(0.0))
        .alias("online_s"),
        F.count_if("is_anomaly").alias("anomaly_count"),
        F.count("*").alias("readings_count"),
        F.countDistinct("device_id").alias("devices_reporting"),
    )
    dates = silver.select("event_date").distinct()
    gold = (
        dates.crossJoin(F.broadcast(registered))
        .join(totals, ["event_date", "site_id"], "left")
        .select(
            "event_date", "site_id",
            F.coalesce("energy_wh_total", F.lit(0.0)).alias("energy_wh_total"),
            "peak_power_w", "avg_temp_c",
            (100.0 * F.coalesce("online_s", F.lit(0.0))
             / (86400.0 * F.col("devices_registered"))).alias("uptime_percent"),
            F.coalesce("anomaly_count", F.lit(0)).alias("anomaly_count"),
            F.coalesce("readings_count", F.lit(0)).alias("readings_count"),
            F.coalesce("devices_reporting", F.lit(0)).alias("devices_reporting"),
            "devices_registered",
        )
        .repartition("event_date", "site_id")
    )
    gold.write.mode("overwrite").partitionBy("event_date", "site_id").parquet(
        str(args.out / "site_daily_kpis"))
    rows = silver.count()
    spark.stop()
    print(json.dumps({"session_start_s": session_s,
                      "total_s": time.perf_counter() - started, "silver_rows": rows}))


if __name__ == "__main__":
    main()
