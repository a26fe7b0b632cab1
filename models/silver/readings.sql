{#- One row per (device_id, reading_at): accepted readings, deduplicated, cleaned, flagged and
    enriched from the device registry. Recomputes the event dates the run owns from every receive
    day that can hold them (event date .. event date + late_arrival_days). -#}
{%- set owned_dates = owned_event_dates(ref('receive_day_event_dates')) -%}
{%- set late_days = var('late_arrival_days') | int -%}
{{
    config(
        partition_by=['event_date', 'site_id'],
        pre_hook="{{ drop_partitions('event_date', owned_event_dates(ref('receive_day_event_dates'))) }}",
    )
}}

with

lines as (

    select
        device_id,
        reported_site_id,
        status,
        source_file,
        line_number,
        power_w,
        soc_percent,
        temperature_c,
        received_on,
        event_date,
        reading_at
    from {{ ref('stg_bronze__raw_telemetry') }}
    where
        rejection_reason is null
        {% if owned_dates | length > 0 %}
            and received_on between date'{{ owned_dates[0] }}'
            and date_add(date'{{ owned_dates[-1] }}', {{ late_days }})
        {% endif %}
        and event_date in ({{ date_list(owned_dates) }})

),

devices as (

    select
        device_id,
        site_id,
        device_type,
        capacity_kwh,
        rated_power_w
    from {{ ref('devices') }}

),

ranked as (

    select
        *,
        count(*) over (partition by device_id, reading_at) as copies_received,
        row_number() over (
            partition by device_id, reading_at
            order by received_on desc, source_file desc, line_number desc
        ) as receive_rank
    from lines

),

deduplicated as (

    select *
    from ranked
    where receive_rank = 1

),

cleaned as (

    select
        device_id,
        reported_site_id,
        status,
        source_file,
        line_number,
        copies_received,
        case when power_w < 0 then 0.0 else power_w end as power_w,
        case when soc_percent between 0 and 100 then soc_percent end as soc_percent,
        case when temperature_c between -40 and 85 then temperature_c end as temperature_c,
        coalesce(power_w < 0, false) as is_power_capped,
        coalesce(not soc_percent between 0 and 100, false) as is_soc_out_of_range,
        coalesce(not temperature_c between -40 and 85, false) as is_temperature_out_of_range,
        received_on,
        event_date,
        reading_at
    from deduplicated

),

enriched as (

    select /*+ broadcast(devices) */
        cleaned.device_id,
        devices.device_type,
        cleaned.reported_site_id,
        cleaned.status,
        cleaned.source_file,
        cleaned.line_number,
        cleaned.copies_received,
        cleaned.power_w,
        cleaned.soc_percent,
        cleaned.temperature_c,
        devices.capacity_kwh,
        devices.rated_power_w,
        cleaned.is_power_capped,
        cleaned.is_soc_out_of_range,
        cleaned.is_temperature_out_of_range,
        (
            cleaned.is_power_capped
            or cleaned.is_soc_out_of_range
            or cleaned.is_temperature_out_of_range
            or coalesce(cleaned.status = 'fault', false)
        ) as is_anomaly,
        cleaned.received_on,
        cleaned.reading_at,
        cleaned.event_date,
        devices.site_id
    from cleaned
    inner join devices
        on cleaned.device_id = devices.device_id

)

select /*+ repartition(event_date, site_id) */
    device_id,
    device_type,
    reported_site_id,
    status,
    source_file,
    line_number,
    copies_received,
    power_w,
    soc_percent,
    temperature_c,
    capacity_kwh,
    rated_power_w,
    is_power_capped,
    is_soc_out_of_range,
    is_temperature_out_of_range,
    is_anomaly,
    received_on,
    reading_at,
    -- partition columns last, in partition order
    event_date,
    site_id
from enriched
