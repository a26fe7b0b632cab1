{#- The event dates that the run for a receive day owns and recomputes: the day itself, the event
    dates of its accepted readings, and every date it owned before (so that a date whose late
    readings were corrected away is recomputed, not left stale). -#}
{{
    config(
        partition_by=['received_on'],
    )
}}

with

lines as (

    select event_date
    from {{ ref('stg_bronze__raw_telemetry') }}
    where
        received_on = date '{{ process_date() }}'
        and rejection_reason is null

),

{% if is_incremental() %}
    owned_before as (

        select event_date
        from {{ this }}
        where received_on = date '{{ process_date() }}'

    ),
{% endif %}

owned as (

    select event_date from lines
    union
    select date '{{ process_date() }}' as event_date
    {% if is_incremental() %}
        union
        select event_date from owned_before
    {% endif %}

)

select
    event_date,
    date '{{ process_date() }}' as received_on
from owned
