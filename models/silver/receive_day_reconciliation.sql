{#- Nothing lost, per receive day: Bronze rows = Silver rows taken from the day + duplicates
    dropped + rejected rows. Each term is counted on its own, so the equation is a real check. -#}
{{
    config(
        partition_by=['received_on'],
    )
}}
{%- set owned_dates = owned_event_dates(ref('receive_day_event_dates')) -%}

with

lines as (

    select
        source_file,
        line_number,
        device_id,
        rejection_reason,
        event_date,
        reading_at
    from {{ ref('stg_bronze__raw_telemetry') }}
    where received_on = date'{{ process_date() }}'

),

readings as (

    select
        device_id,
        reading_at,
        source_file,
        line_number,
        received_on
    from {{ ref('readings') }}
    where event_date in ({{ date_list(owned_dates) }})

),

accepted_lines as (

    select
        lines.source_file,
        lines.line_number,
        readings.device_id is not null as has_reading,
        coalesce(
            readings.received_on = date'{{ process_date() }}'
            and readings.source_file = lines.source_file
            and readings.line_number = lines.line_number,
            false
        ) as is_kept
    from lines
    left join readings
        on
            lines.device_id = readings.device_id
            and lines.reading_at = readings.reading_at
    where lines.rejection_reason is null

),

counts as (

    select
        (select count(*) from lines) as bronze_rows,
        (
            select count(*) from lines
            where rejection_reason is not null
        ) as rejected_rows,
        (
            select count(*) from readings
            where received_on = date'{{ process_date() }}'
        ) as silver_rows,
        (
            select count(*) from accepted_lines
            where has_reading and not is_kept
        ) as duplicates_dropped,
        (
            select count(*) from accepted_lines
            where not has_reading
        ) as lost_rows,
        (
            select count(*) from lines
            where
                rejection_reason is null
                and event_date < date'{{ process_date() }}'
        ) as late_rows

)

select
    bronze_rows,
    silver_rows,
    duplicates_dropped,
    rejected_rows,
    lost_rows,
    late_rows,
    date'{{ process_date() }}' as received_on
from counts
