{#- Every reading's `copies_received` is the number of accepted lines, over every receive day,
    that carried its (device_id, reading_at): counted here from the staged lines with a plain
    group-by, and without the receive-day bounds the readings model reads within. Returns the
    readings whose count disagrees, and the keys with lines but no reading. -#}
{{ config(severity='error') }}
{%- set is_owned = owned_event_dates_filter(ref('int_receive_day_event_dates')) -%}

with

staged as (

    select
        device_id,
        reading_at,
        count(*) as accepted_lines
    from {{ ref('stg_bronze__raw_telemetry') }}
    where
        rejection_reason is null
        and {{ is_owned }}
    group by device_id, reading_at

),

readings as (

    select
        device_id,
        reading_at,
        copies_received
    from {{ ref('readings') }}
    where {{ is_owned }}

)

select
    coalesce(staged.device_id, readings.device_id) as device_id,
    coalesce(staged.reading_at, readings.reading_at) as reading_at,
    staged.accepted_lines,
    readings.copies_received
from staged
full outer join readings
    on
        staged.device_id = readings.device_id
        and staged.reading_at = readings.reading_at
where not staged.accepted_lines <=> readings.copies_received
