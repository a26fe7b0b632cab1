{#- The event dates that the run owns and recomputes, per receive day it processes: the day itself,
    the event dates of its accepted readings, and every date it owned before (so that a date whose
    late readings were corrected away is recomputed, not left stale). -#}
{{
    config(
        partition_by=['received_on'],
    )
}}

with

lines as (

    select
        event_date,
        received_on
    from {{ ref('stg_bronze__raw_telemetry') }}
    where
        received_on between date'{{ process_date() }}' and date'{{ process_date_to() }}'
        and rejection_reason is null

),

-- No row while the run processes no day (`dbt build --empty`).
receive_days as (

    select explode({{ date_array(process_days()) }}) as received_on

),

{% if is_incremental() %}
    owned_before as (

        select
            event_date,
            received_on
        from {{ this }}
        where received_on in ({{ date_list(process_days()) }})

    ),
{% endif %}

owned as (

    select
        event_date,
        received_on
    from lines
    union
    select
        received_on as event_date,
        received_on
    from receive_days
    {% if is_incremental() %}
        union
        select
            event_date,
            received_on
        from owned_before
    {% endif %}

)

select
    event_date,
    received_on
from owned
