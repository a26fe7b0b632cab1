{#- Gold's counts, peak and mean temperature equal what Silver holds for each recomputed
    (event_date, site_id). Returns the site-days that disagree. -#}
{{ config(severity='error') }}
{%- set owned_dates = owned_event_dates(ref('int_receive_day_event_dates')) -%}

with

gold as (

    select
        event_date,
        site_id,
        readings_count,
        anomaly_count,
        devices_reporting,
        peak_power_w,
        avg_temp_c
    from {{ ref('site_daily_kpis') }}
    where event_date in ({{ date_list(owned_dates) }})

),

readings as (

    select
        event_date,
        site_id,
        device_id,
        power_w,
        temperature_c,
        is_anomaly
    from {{ ref('readings') }}
    where event_date in ({{ date_list(owned_dates) }})

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

)

select
    gold.event_date,
    gold.site_id,
    gold.readings_count,
    silver_totals.readings_count as silver_readings_count
from gold
left join silver_totals
    on
        gold.event_date = silver_totals.event_date
        and gold.site_id = silver_totals.site_id
where
    gold.readings_count != coalesce(silver_totals.readings_count, 0)
    or gold.anomaly_count != coalesce(silver_totals.anomaly_count, 0)
    or gold.devices_reporting != coalesce(silver_totals.devices_reporting, 0)
    or not gold.peak_power_w <=> silver_totals.peak_power_w
    or abs(coalesce(gold.avg_temp_c, 0) - coalesce(silver_totals.avg_temp_c, 0)) > 1e-9
    or (gold.avg_temp_c is null) != (silver_totals.avg_temp_c is null)
