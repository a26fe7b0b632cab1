{#- Nothing lost, per receive day: Bronze rows = Silver rows taken from the day + duplicates
    dropped + rejected rows. Each term is counted on its own, so the equation is a real check.
    The row also holds every other count of the day's quality metrics.

    The run rewrites the row of its own receive day and of every other receive day that owns an
    event date it recomputes: when a later day's copy of a reading wins, the earlier day's row
    changes too (one more duplicate, one reading fewer taken from it). -#}
{{
    config(
        partition_by=['received_on'],
    )
}}
{%- set reconciled = reconciled_receive_days(ref('int_receive_day_event_dates')) -%}

with

-- No row at all while there is no receive day (`dbt build --empty`).
receive_days as (

    select explode({{ date_array(reconciled.receive_days) }}) as received_on

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

-- Each count is aggregated on its own input first and joined to the receive days after: a
-- receive day is one join key for all of its lines, so joining the lines to the days before
-- aggregating would gather a whole day's lines in one task (and, in a sort-merge join, in memory).
line_counts as (

    select
        received_on,
        count(*) as bronze_rows,
        count_if(rejection_reason is not null) as rejected_rows,
        map(
            {% for reason in rejection_reasons() -%}
                '{{ reason }}',
                count_if(rejection_reason = '{{ reason }}'){{ ',' if not loop.last }}
            {% endfor -%}
        ) as rejected_rows_by_reason,
        count_if(rejection_reason is null and event_date < received_on) as late_rows
    from lines
    group by received_on

),

accepted_counts as (

    select
        received_on,
        count_if(has_reading and not is_kept) as duplicates_dropped,
        count_if(not has_reading) as lost_rows
    from accepted_lines
    group by received_on

),

silver_counts as (

    select
        received_on,
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
    where received_on in ({{ date_list(reconciled.receive_days) }})
    group by received_on

),

registry as (

    select count(*) as devices_registered
    from {{ ref('devices') }}

),

owned_event_dates as (

    select
        received_on,
        array_sort(collect_list(event_date)) as event_dates_recomputed
    from {{ ref('int_receive_day_event_dates') }}
    where received_on in ({{ date_list(reconciled.receive_days) }})
    group by received_on

)

-- A receive day without lines (or without readings) has zero counts, not nulls.
select
    coalesce(line_counts.bronze_rows, 0) as bronze_rows,
    coalesce(silver_counts.silver_rows, 0) as silver_rows,
    coalesce(accepted_counts.duplicates_dropped, 0) as duplicates_dropped,
    coalesce(line_counts.rejected_rows, 0) as rejected_rows,
    coalesce(accepted_counts.lost_rows, 0) as lost_rows,
    coalesce(line_counts.late_rows, 0) as late_rows,
    coalesce(
        line_counts.rejected_rows_by_reason, {{ zero_counts(rejection_reasons()) }}
    ) as rejected_rows_by_reason,
    coalesce(silver_counts.null_counts, {{ zero_counts(measured_columns()) }}) as null_counts,
    coalesce(
        silver_counts.flag_counts, {{ zero_counts(reading_flags() | map(attribute=0)) }}
    ) as flag_counts,
    coalesce(silver_counts.anomalies, 0) as anomalies,
    coalesce(silver_counts.devices_reporting, 0) as devices_reporting,
    registry.devices_registered,
    coalesce(
        owned_event_dates.event_dates_recomputed, cast(array() as array<date>)
    ) as event_dates_recomputed,
    receive_days.received_on
from receive_days
left join line_counts
    on receive_days.received_on = line_counts.received_on
left join accepted_counts
    on receive_days.received_on = accepted_counts.received_on
left join silver_counts
    on receive_days.received_on = silver_counts.received_on
left join owned_event_dates
    on receive_days.received_on = owned_event_dates.received_on
cross join registry
