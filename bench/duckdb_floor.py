"""The benchmark's single-machine floor: the baseline's Silver + Gold arithmetic for a receive day
of well-formed input, done by DuckDB in one process (no JVM), on the same raw files.

Like bench/baseline.py it keeps to SPEC.md's arithmetic (deduplication keeping the copy received
last, cleaning, covered_s, the KPIs) and skips what well-formed input does not need; it reads the
JSON with explicit columns and writes Parquet folders partitioned like the lakehouse's tables. It
is a yardstick, not a target: it shows what the same work costs without Spark.

    python -m bench.duckdb_floor --raw-dir DIR --registry seeds/devices.csv --date D --out DIR
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb

MAX_GAP_S = 900.0

SILVER = """
create table silver as
with raw as (
    select *, filename as source_file
    from read_json(?, format = 'newline_delimited', filename = true, ignore_errors = true,
                   columns = {device_id: 'VARCHAR', site_id: 'VARCHAR', ts: 'VARCHAR',
                              power_w: 'DOUBLE', soc_percent: 'DOUBLE',
                              temperature_c: 'DOUBLE', status: 'VARCHAR'})
),
readings as (
    select device_id, status, power_w, soc_percent, temperature_c, source_file,
           cast(try_cast(ts as timestamptz) at time zone 'UTC' as timestamp) as reading_at
    from raw
    where device_id is not null
),
deduplicated as (
    select *
    from readings
    where reading_at is not null
    qualify row_number() over (partition by device_id, reading_at
                               order by source_file desc) = 1
)
select
    d.device_id, r.site_id, d.status, d.reading_at,
    cast(d.reading_at as date) as event_date,
    case when d.power_w < 0 then 0.0 else d.power_w end as power_w,
    case when d.soc_percent between 0 and 100 then d.soc_percent end as soc_percent,
    case when d.temperature_c between -40 and 85 then d.temperature_c end as temperature_c,
    coalesce(d.power_w < 0, false) or coalesce(not d.soc_percent between 0 and 100, false)
        or coalesce(not d.temperature_c between -40 and 85, false)
        or coalesce(d.status = 'fault', false) as is_anomaly
from deduplicated d
join registry r using (device_id)
"""

GOLD = f"""
create table gold as
with covered as (
    select *,
        least(
            epoch_us(coalesce(lead(reading_at) over device_day,
                              cast(event_date + 1 as timestamp)))
            - epoch_us(reading_at),
            {MAX_GAP_S * 1e6}
        ) / 1e6 as covered_s
    from silver
    window device_day as (partition by device_id, event_date order by reading_at)
),
totals as (
    select event_date, site_id,
        sum(coalesce(power_w, 0) * covered_s / 3600.0) as energy_wh_total,
        max(power_w) as peak_power_w,
        avg(temperature_c) as avg_temp_c,
        sum(case when status = 'online' then covered_s else 0 end) as online_s,
        count(*) filter (where is_anomaly) as anomaly_count,
        count(*) as readings_count,
        count(distinct device_id) as devices_reporting
    from covered
    group by event_date, site_id
),
registered as (
    select site_id, count(*) as devices_registered from registry group by site_id
),
dates as (select distinct event_date from silver)
select
    dates.event_date, registered.site_id,
    coalesce(energy_wh_total, 0.0) as energy_wh_total, peak_power_w, avg_temp_c,
    100.0 * coalesce(online_s, 0.0) / (86400.0 * devices_registered) as uptime_percent,
    coalesce(anomaly_count, 0) as anomaly_count,
    coalesce(readings_count, 0) as readings_count,
    coalesce(devices_reporting, 0) as devices_reporting,
    devices_registered
from dates
cross join registered
left join totals using (event_date, site_id)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--raw-dir", type=Path, required=True)
    parser.add_argument("--registry", type=Path, required=True)
    parser.add_argument("--date", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    started = time.perf_counter()
    year, month, day = args.date.split("-")
    files = str(args.raw_dir / year / month / day / "*" / "*.jsonl")
    db = duckdb.connect()
    db.execute("set TimeZone = 'UTC'")
    db.execute("create table registry as select * from read_csv(?, header = true)",
               [str(args.registry)])
    db.execute(SILVER, [files])
    db.execute(GOLD)
    args.out.mkdir(parents=True, exist_ok=True)
    for table, folder in (("silver", "readings"), ("gold", "site_daily_kpis")):
        db.execute(f"copy {table} to '{args.out / folder}' "
                   "(format parquet, partition_by (event_date, site_id), overwrite_or_ignore)")
    rows = db.execute("select count(*) from silver").fetchone()[0]
    print(json.dumps({"total_s": time.perf_counter() - started, "silver_rows": rows}))


if __name__ == "__main__":
    main()
