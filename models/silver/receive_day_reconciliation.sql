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

line_counts as (

    select
        count(*) as bronze_rows,
        count_if(rejection_reason is not null) as rejected_rows,
        count_if(
            rejection_reason is null and event_date < date'{{ process_date() }}'
        ) as late_rows
    from lines

),

accepted_counts as (

    select
        count_if(has_reading and not is_kept) as duplicates_dropped,
        count_if(not has_reading) as lost_rows
    from accepted_lines

),

silver_counts as (

    select count(*) as silver_rows
    from readings
    where received_on = date'{{ process_date() }}'

),

counts as (

    select
        line_counts.bronze_rows,
        silver_counts.silver_rows,
        accepted_counts.duplicates_dropped,
        line_counts.rejected_rows,
        accepted_counts.lost_rows,
        line_counts.late_rows
    from line_counts
    cross join accepted_counts
    cross join silver_counts

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
