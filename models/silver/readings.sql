{#- One row per (device_id, reading_at): accepted readings, deduplicated, cleaned, flagged and
    enriched from the device registry. Recomputes the event dates the run owns from every receive
    day that can hold them (event date .. event date + late_arrival_days). -#}
{%- set owned_dates = owned_event_dates(ref('int_receive_day_event_dates')) -%}
{%- set late_days = var('late_arrival_days') | int -%}
{{
    config(
        partition_by=['event_date', 'site_id'],
        pre_hook="{{ empty_partitions('event_date', owned_event_dates(ref('int_receive_day_event_dates'))) }}",
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

registered_lines as (

    -- Partitioned once, by the table's partition columns: the window below clusters by a superset
    -- of them (site_id and event_date follow from device_id and reading_at), so the write needs
    -- no second shuffle and each partition is written by one task, as one file.
    select /*+ broadcast(devices), repartition(event_date, site_id) */
        lines.device_id,
        devices.site_id,
        devices.device_type,
        lines.reported_site_id,
        lines.status,
        lines.source_file,
        lines.line_number,
        lines.power_w,
        lines.soc_percent,
        lines.temperature_c,
        devices.capacity_kwh,
        devices.rated_power_w,
        lines.received_on,
        lines.event_date,
        lines.reading_at
    from lines
    inner join devices
        on lines.device_id = devices.device_id

),

-- Both windows over one partitioning and one order, the count's frame the whole partition: Spark
-- then sorts the rows once for the two (with the count unordered it sorted them twice). The
-- readings query of a 1 Hz day, warm, 6 rounds each in turn: 2.2 s against 3.1 s median.
ranked as (

    select
        *,
        count(*) over (
            partition by event_date, site_id, device_id, reading_at
            order by received_on desc, source_file desc, line_number desc
            rows between unbounded preceding and unbounded following
        ) as copies_received,
        row_number() over (
            partition by event_date, site_id, device_id, reading_at
            order by received_on desc, source_file desc, line_number desc
        ) as receive_rank
    from registered_lines

),

deduplicated as (

    select *
    from ranked
    where receive_rank = 1

),

cleaned as (

    select
        device_id,
        site_id,
        device_type,
        reported_site_id,
        status,
        source_file,
        line_number,
        copies_received,
        case when power_w < 0 then 0.0 else power_w end as power_w,
        case when soc_percent between 0 and 100 then soc_percent end as soc_percent,
        case when temperature_c between -40 and 85 then temperature_c end as temperature_c,
        capacity_kwh,
        rated_power_w,
        coalesce(power_w < 0, false) as is_power_capped,
        coalesce(not soc_percent between 0 and 100, false) as is_soc_out_of_range,
        coalesce(not temperature_c between -40 and 85, false) as is_temperature_out_of_range,
        coalesce(status = 'fault', false) as is_fault,
        received_on,
        event_date,
        reading_at
    from deduplicated

)

select
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
    (is_power_capped or is_soc_out_of_range or is_temperature_out_of_range or is_fault)
        as is_anomaly,
    received_on,
    reading_at,
    -- partition columns last, in partition order
    event_date,
    site_id
from cleaned
