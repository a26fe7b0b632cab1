{#- One row per (event_date, site_id) for every registered site, for the event dates the run owns.
    A reading covers the seconds until the same device's next reading that day (the last one: until
    midnight UTC), at most max_gap_s. -#}
{%- set owned_dates = owned_event_dates(ref('int_receive_day_event_dates')) -%}
{{
    config(
        partition_by=['event_date', 'site_id'],
        pre_hook="{{ empty_partitions('event_date', owned_event_dates(ref('int_receive_day_event_dates'))) }}",
    )
}}

with

readings as (

    -- One shuffle, by (event_date, site_id): the window and the per-site totals below both
    -- cluster by supersets of it.
    select /*+ repartition(event_date, site_id) */
        device_id,
        site_id,
        status,
        power_w,
        temperature_c,
        is_anomaly,
        event_date,
        reading_at
    from {{ ref('readings') }}
    where event_date in ({{ date_list(owned_dates) }})

),

devices as (

    select
        device_id,
        site_id
    from {{ ref('devices') }}

),

owned_dates as (

    select explode(cast(array({{ date_list(owned_dates) }}) as array<date>)) as event_date

),

registered_sites as (

    select
        site_id,
        count(*) as devices_registered
    from devices
    group by site_id

),

site_days as (

    select
        registered_sites.site_id,
        registered_sites.devices_registered,
        owned_dates.event_date
    from owned_dates
    cross join registered_sites

),

coverage as (

    select
        site_id,
        device_id,
        status,
        power_w,
        temperature_c,
        is_anomaly,
        event_date,
        least(
            (
                coalesce(
                    unix_micros(lead(reading_at) over device_day),
                    unix_micros(cast(date_add(event_date, 1) as timestamp))
                )
                - unix_micros(reading_at)
            ) / 1e6,
            {{ var('max_gap_s') }}
        ) as covered_s
    from readings
    window device_day as (partition by event_date, site_id, device_id order by reading_at)

),

site_totals as (

    select
        site_id,
        event_date,
        sum(coalesce(power_w, 0) * covered_s / 3600.0) as energy_wh_total,
        max(power_w) as peak_power_w,
        avg(temperature_c) as avg_temp_c,
        sum(case when status = 'online' then covered_s else 0 end) as online_s,
        count_if(is_anomaly) as anomaly_count,
        count(*) as readings_count,
        count(distinct device_id) as devices_reporting
    from coverage
    group by site_id, event_date

)

select /*+ repartition(event_date, site_id) */
    coalesce(site_totals.energy_wh_total, 0.0) as energy_wh_total,
    site_totals.peak_power_w,
    site_totals.avg_temp_c,
    100.0 * coalesce(site_totals.online_s, 0.0)
    / (86400.0 * site_days.devices_registered) as uptime_percent,
    cast(coalesce(site_totals.anomaly_count, 0) as bigint) as anomaly_count,
    cast(coalesce(site_totals.readings_count, 0) as bigint) as readings_count,
    cast(coalesce(site_totals.devices_reporting, 0) as bigint) as devices_reporting,
    cast(site_days.devices_registered as bigint) as devices_registered,
    -- partition columns last, in partition order
    site_days.event_date,
    site_days.site_id
from site_days
left join site_totals
    on
        site_days.site_id = site_totals.site_id
        and site_days.event_date = site_totals.event_date
