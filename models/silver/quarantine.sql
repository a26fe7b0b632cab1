{#- Every rejected line of the run's receive days, with its raw text, where it came from and one
    reason. Partitioned by receive day; a re-run replaces the days' partitions, also when they are
    now empty. -#}
{{
    config(
        partition_by=['received_on'],
        pre_hook="{{ empty_partitions('received_on', process_days()) }}",
    )
}}

with

rejected_lines as (

    select
        raw_line,
        source_file,
        line_number,
        device_id,
        rejection_reason,
        event_date,
        reading_at,
        received_on
    from {{ ref('stg_bronze__raw_telemetry') }}
    where
        received_on between date'{{ process_date() }}' and date'{{ process_date_to() }}'
        and rejection_reason is not null

)

select /*+ repartition(1) */
    source_file,
    line_number,
    device_id,
    rejection_reason,
    raw_line,
    event_date,
    reading_at,
    received_on
from rejected_lines
