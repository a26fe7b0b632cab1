"""One day through the whole lakehouse in one process and one JVM: Bronze ingest, `dbt build`
(in-process, reusing the SparkSession), and the quality-metrics JSON."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import SparkSession

from ingest.bronze import ingest_day
from ingest.dbt_build import NodeResult, run_dbt
from ingest.lakehouse import Lakehouse
from ingest.metrics import quality_metrics, refresh_tables, write_metrics

KPI_COLUMNS = [
    "site_id",
    "readings_count",
    "devices_reporting",
    "devices_registered",
    "energy_wh_total",
    "peak_power_w",
    "avg_temp_c",
    "uptime_percent",
    "anomaly_count",
]


@dataclass(frozen=True)
class DayRun:
    day: dt.date
    bronze_rows: int
    dbt_results: list[NodeResult]
    metrics_path: Path
    timings_s: dict[str, float] = field(default_factory=dict)

    def report(self) -> dict[str, object]:
        """What the run did and how long each stage and dbt node took, for the benchmark."""
        return {
            "day": self.day.isoformat(),
            "bronze_rows": self.bronze_rows,
            "timings_s": self.timings_s,
            "dbt_nodes_s": {r.unique_id: r.execution_time for r in self.dbt_results},
        }


def build_day(lake: Lakehouse, day: dt.date) -> list[NodeResult]:
    """`dbt build` for a receive day: the seed, Silver, Gold and every data test. dbt's unit
    tests check the SQL, not the day's data: like dbt recommends, they run in development and CI
    (`make test`, or `dbt build`/`dbt test` by hand), not in every production run."""
    return run_dbt(lake, ["build", "--exclude-resource-type", "unit_test"], day)


def run_day(spark: SparkSession, lake: Lakehouse, day: dt.date) -> DayRun:
    timings: dict[str, float] = {}
    start = time.perf_counter()
    bronze_rows = ingest_day(spark, lake, day)
    timings["ingest"] = time.perf_counter() - start
    start = time.perf_counter()
    results = build_day(lake, day)
    timings["dbt_build"] = time.perf_counter() - start
    start = time.perf_counter()
    path = write_metrics(lake, day, quality_metrics(spark, day, results))
    timings["metrics"] = time.perf_counter() - start
    return DayRun(day, bronze_rows, results, path, timings)


def gold_kpis(spark: SparkSession, event_date: dt.date) -> list[dict[str, object]]:
    refresh_tables(spark, ["gold.site_daily_kpis"])
    rows = spark.sql(
        f"select {', '.join(KPI_COLUMNS)} from gold.site_daily_kpis "
        f"where event_date = date'{event_date.isoformat()}' order by site_id"
    ).collect()
    return [row.asDict() for row in rows]


def format_kpis(event_date: dt.date, kpis: list[dict[str, object]]) -> str:
    """The day's Gold KPIs per site as a plain-text table."""
    header = ["site", "readings", "devices", "energy MWh", "peak kW", "avg temp C", "uptime %",
              "anomalies"]

    def number(value: object, scale: float = 1.0, digits: int = 1) -> str:
        return "-" if value is None else f"{float(value) / scale:,.{digits}f}"

    rows = [
        [
            str(k["site_id"]),
            f"{k['readings_count']:,}",
            f"{k['devices_reporting']}/{k['devices_registered']}",
            number(k["energy_wh_total"], 1e6, 3),
            number(k["peak_power_w"], 1e3),
            number(k["avg_temp_c"]),
            number(k["uptime_percent"], digits=2),
            f"{k['anomaly_count']:,}",
        ]
        for k in kpis
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = zip(cells, widths, strict=True)
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(padded))

    rule = "-" * len(line(header))
    title = f"Gold KPIs for {event_date.isoformat()} (gold.site_daily_kpis)"
    return "\n".join([title, rule, line(header), rule, *(line(r) for r in rows), rule])
