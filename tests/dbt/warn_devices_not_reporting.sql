{#- A warning for the operator: registered devices that sent no reading for a processed date
    (offline, decommissioned, or their files did not arrive), one row per device and date. -#}
{{ config(severity='warn') }}

with

readings as (

    select distinct
        device_id,
        event_date
    from {{ ref('readings') }}
    where event_date between date'{{ process_date() }}' and date'{{ process_date_to() }}'

),

devices as (

    select
        device_id,
        site_id
    from {{ ref('devices') }}

),

processed_dates as (

    select explode({{ date_array(process_days()) }}) as event_date

),

expected as (

    select
        devices.device_id,
        devices.site_id,
        processed_dates.event_date
    from devices
    cross join processed_dates

)

select
    expected.device_id,
    expected.site_id,
    expected.event_date
from expected
left anti join readings
    on
        expected.device_id = readings.device_id
        and expected.event_date = readings.event_date
