{#- Nothing lost, per receive day: Bronze rows = Silver rows taken from the day + duplicates
    dropped + rejected rows. Each term is counted on its own, so the equation is a real check.
    The row also holds every other count of the day's quality metrics. -#}
{{
    config(
        partition_by=['received_on'],
    )
}}
{%- set owned_dates = owned_event_dates(ref('int_receive_day_event_dates')) -%}

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
        received_on,
        {% for column in measured_columns() -%}
            {{ column }},
        {% endfor -%}
        {% for _, flag in reading_flags() -%}
            {{ flag }},
        {% endfor -%}
        is_anomaly
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
        map(
            {% for reason in rejection_reasons() -%}
                '{{ reason }}',
                count_if(rejection_reason = '{{ reason }}'){{ ',' if not loop.last }}
            {% endfor -%}
        ) as rejected_rows_by_reason,
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

    select
        count(*) as silver_rows,
        map(
            {% for column in measured_columns() -%}
                '{{ column }}', count_if({{ column }} is null){{ ',' if not loop.last }}
            {% endfor -%}
        ) as null_counts,
        map(
            {% for name, flag in reading_flags() -%}
                '{{ name }}', count_if({{ flag }}){{ ',' if not loop.last }}
            {% endfor -%}
        ) as flag_counts,
        count_if(is_anomaly) as anomalies,
        count(distinct device_id) as devices_reporting
    from readings
    where received_on = date'{{ process_date() }}'

),

registry as (

    select count(*) as devices_registered
    from {{ ref('devices') }}

),

owned_event_dates as (

    select array_sort(collect_list(event_date)) as event_dates_recomputed
    from {{ ref('int_receive_day_event_dates') }}
    where received_on = date'{{ process_date() }}'

),

counts as (

    select
        line_counts.bronze_rows,
        silver_counts.silver_rows,
        accepted_counts.duplicates_dropped,
        line_counts.rejected_rows,
        accepted_counts.lost_rows,
        line_counts.late_rows,
        line_counts.rejected_rows_by_reason,
        silver_counts.null_counts,
        silver_counts.flag_counts,
        silver_counts.anomalies,
        silver_counts.devices_reporting,
        registry.devices_registered,
        owned_event_dates.event_dates_recomputed
    from line_counts
    cross join accepted_counts
    cross join silver_counts
    cross join registry
    cross join owned_event_dates

)

select
    bronze_rows,
    silver_rows,
    duplicates_dropped,
    rejected_rows,
    lost_rows,
    late_rows,
    rejected_rows_by_reason,
    null_counts,
    flag_counts,
    anomalies,
    devices_reporting,
    devices_registered,
    event_dates_recomputed,
    date'{{ process_date() }}' as received_on
from counts
