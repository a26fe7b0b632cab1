{#- Gold equals what Silver holds, recomputed here another way for each (event_date, site_id) the
    run owns: counts, peak and mean temperature by plain aggregates, and energy and uptime from
    each device-day's readings sorted into an array (each covering the time to the next element,
    or to midnight, at most max_gap_s) instead of Gold's window over the table. Returns the
    site-days that disagree. -#}
{{ config(severity='error') }}
{%- set is_owned = owned_event_dates_filter(ref('int_receive_day_event_dates')) -%}

with

gold as (

    select
        event_date,
        site_id,
        energy_wh_total,
        uptime_percent,
        readings_count,
        anomaly_count,
        devices_reporting,
        devices_registered,
        peak_power_w,
        avg_temp_c
    from {{ ref('site_daily_kpis') }}
    where {{ is_owned }}

),

readings as (

    select
        event_date,
        site_id,
        device_id,
        reading_at,
        status,
        power_w,
        temperature_c,
        is_anomaly
    from {{ ref('readings') }}
    where {{ is_owned }}

),

registered as (

    select
        site_id,
        count(*) as devices_registered
    from {{ ref('devices') }}
    group by site_id

),

device_days as (

    select
        event_date,
        site_id,
        array_sort(
            collect_list(
                struct(
                    reading_at,
                    coalesce(power_w, 0d) as power_w,
                    coalesce(status = 'online', false) as is_online
                )
            )
        ) as by_time
    from readings
    group by event_date, site_id, device_id

),

spans as (

    select
        event_date,
        site_id,
        zip_with(
            by_time,
            concat(
                slice(transform(by_time, r -> r.reading_at), 2, size(by_time)),
                array(cast(date_add(event_date, 1) as timestamp))
            ),
            (r, next_at) -> named_struct(
                'power_w', r.power_w,
                'is_online', r.is_online,
                'covered_s', least(
                    (unix_micros(next_at) - unix_micros(r.reading_at)) / 1e6,
                    {{ var('max_gap_s') }}
                )
            )
        ) as covered
    from device_days

),

silver_coverage as (

    select
        event_date,
        site_id,
        sum(aggregate(covered, 0d, (total, s) -> total + s.power_w * s.covered_s / 3600))
            as energy_wh_total,
        sum(aggregate(covered, 0d, (total, s) -> total + if(s.is_online, s.covered_s, 0d)))
            as online_s
    from spans
    group by event_date, site_id

),

silver_totals as (

    select
        event_date,
        site_id,
        count(*) as readings_count,
        count_if(is_anomaly) as anomaly_count,
        count(distinct device_id) as devices_reporting,
        max(power_w) as peak_power_w,
        avg(temperature_c) as avg_temp_c
    from readings
    group by event_date, site_id

),

compared as (

    select
        gold.*,
        coalesce(silver_coverage.energy_wh_total, 0) as silver_energy_wh_total,
        100 * coalesce(silver_coverage.online_s, 0) / (86400 * registered.devices_registered)
            as silver_uptime_percent,
        coalesce(silver_totals.readings_count, 0) as silver_readings_count,
        coalesce(silver_totals.anomaly_count, 0) as silver_anomaly_count,
        coalesce(silver_totals.devices_reporting, 0) as silver_devices_reporting,
        registered.devices_registered as registry_devices,
        silver_totals.peak_power_w as silver_peak_power_w,
        silver_totals.avg_temp_c as silver_avg_temp_c
    from gold
    left join registered
        on gold.site_id = registered.site_id
    left join silver_totals
        on
            gold.event_date = silver_totals.event_date
            and gold.site_id = silver_totals.site_id
    left join silver_coverage
        on
            gold.event_date = silver_coverage.event_date
            and gold.site_id = silver_coverage.site_id

)

select *
from compared
where
    abs(energy_wh_total - silver_energy_wh_total) > 1e-6 * greatest(1, abs(energy_wh_total))
    or abs(uptime_percent - silver_uptime_percent) > 1e-9
    or not devices_registered <=> registry_devices
    or readings_count != silver_readings_count
    or anomaly_count != silver_anomaly_count
    or devices_reporting != silver_devices_reporting
    or not peak_power_w <=> silver_peak_power_w
    or not abs(coalesce(avg_temp_c, 0) - coalesce(silver_avg_temp_c, 0)) <= 1e-9
    or (avg_temp_c is null) != (silver_avg_temp_c is null)
