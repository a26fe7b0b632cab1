{#- Nothing lost, per receive day: Bronze rows = Silver rows taken from the day + duplicates
    dropped + rejected rows. Each term is counted on its own, so the equation is a real check.
    The row also holds every other count of the day's quality metrics.

    The run rewrites the row of its own receive day and of every other receive day whose lines
    fall on an event date it recomputes: when a later day's copy of a reading wins, the earlier
    day's row changes too (one more duplicate, one reading fewer taken from it). -#}
{{
    config(
        partition_by=['received_on'],
    )
}}
{%- set owned_dates = owned_event_dates(ref('int_receive_day_event_dates')) -%}
{%- set reconciled = reconciled_receive_days(ref('stg_bronze__raw_telemetry'), owned_dates) -%}

with

receive_days as (

    select explode(
        cast(array({{ date_list(reconciled.receive_days) }}) as array<date>)
    ) as received_on

),

lines as (

    select
        source_file,
        line_number,
        device_id,
        rejection_reason,
        event_date,
        reading_at,
        received_on
    from {{ ref('stg_bronze__raw_telemetry') }}
    where received_on in ({{ date_list(reconciled.receive_days) }})

),

readings as (

    select
        device_id,
        reading_at,
        source_file,
        line_number,
        received_on,
        event_date,
        {% for column in measured_columns() -%}
            {{ column }},
        {% endfor -%}
        {% for _, flag in reading_flags() -%}
            {{ flag }},
        {% endfor -%}
        is_anomaly
    from {{ ref('readings') }}
    where event_date in ({{ date_list(reconciled.event_dates) }})

),

accepted_lines as (

    select
        lines.received_on,
        readings.device_id is not null as has_reading,
        coalesce(
            readings.received_on = lines.received_on
            and readings.source_file = lines.source_file
            and readings.line_number = lines.line_number,
            false
        ) as is_kept
    from lines
    left join readings
        on
            lines.event_date = readings.event_date
            and lines.device_id = readings.device_id
            and lines.reading_at = readings.reading_at
    where lines.rejection_reason is null

),

line_counts as (

    select
        receive_days.received_on,
        count(lines.source_file) as bronze_rows,
        count_if(lines.rejection_reason is not null) as rejected_rows,
        map(
            {% for reason in rejection_reasons() -%}
                '{{ reason }}',
                count_if(lines.rejection_reason = '{{ reason }}'){{ ',' if not loop.last }}
            {% endfor -%}
        ) as rejected_rows_by_reason,
        count_if(
            lines.rejection_reason is null and lines.event_date < lines.received_on
        ) as late_rows
    from receive_days
    left join lines
        on receive_days.received_on = lines.received_on
    group by receive_days.received_on

),

accepted_counts as (

    select
        receive_days.received_on,
        count_if(accepted_lines.has_reading and not accepted_lines.is_kept)
            as duplicates_dropped,
        count_if(not accepted_lines.has_reading) as lost_rows
    from receive_days
    left join accepted_lines
        on receive_days.received_on = accepted_lines.received_on
    group by receive_days.received_on

),

silver_counts as (

    select
        receive_days.received_on,
        count(readings.device_id) as silver_rows,
        map(
            {% for column in measured_columns() -%}
                '{{ column }}',
                count_if(readings.device_id is not null and readings.{{ column }} is null)
                {{- ',' if not loop.last }}
            {% endfor -%}
        ) as null_counts,
        map(
            {% for name, flag in reading_flags() -%}
                '{{ name }}', count_if(readings.{{ flag }}){{ ',' if not loop.last }}
            {% endfor -%}
        ) as flag_counts,
        count_if(readings.is_anomaly) as anomalies,
        count(distinct readings.device_id) as devices_reporting
    from receive_days
    left join readings
        on receive_days.received_on = readings.received_on
    group by receive_days.received_on

),

registry as (

    select count(*) as devices_registered
    from {{ ref('devices') }}

),

owned_event_dates as (

    select
        receive_days.received_on,
        array_sort(collect_list(event_dates.event_date)) as event_dates_recomputed
    from receive_days
    left join {{ ref('int_receive_day_event_dates') }} as event_dates
        on receive_days.received_on = event_dates.received_on
    group by receive_days.received_on

)

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
    owned_event_dates.event_dates_recomputed,
    receive_days.received_on
from receive_days
inner join line_counts
    on receive_days.received_on = line_counts.received_on
inner join accepted_counts
    on receive_days.received_on = accepted_counts.received_on
inner join silver_counts
    on receive_days.received_on = silver_counts.received_on
inner join owned_event_dates
    on receive_days.received_on = owned_event_dates.received_on
cross join registry
