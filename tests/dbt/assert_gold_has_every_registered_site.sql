{#- Every event date the run recomputed has a Gold row for every registered site (with the
    uniqueness test: exactly one). Returns the missing (event_date, site_id) pairs. -#}
{{ config(severity='error') }}
{%- set is_owned = owned_event_dates_filter(ref('int_receive_day_event_dates')) -%}

with

gold as (

    select
        event_date,
        site_id
    from {{ ref('site_daily_kpis') }}
    where {{ is_owned }}

),

registered_sites as (

    select distinct site_id
    from {{ ref('devices') }}

),

owned_dates as (

    select distinct event_date
    from ({{ owned_event_dates_sql(ref('int_receive_day_event_dates')) }}) as owned

),

expected as (

    select
        owned_dates.event_date,
        registered_sites.site_id
    from owned_dates
    cross join registered_sites

)

select
    expected.event_date,
    expected.site_id
from expected
left anti join gold
    on
        expected.event_date = gold.event_date
        and expected.site_id = gold.site_id
