{#- A warning for the operator: registered devices that sent no reading for the processed date
    (offline, decommissioned, or their files did not arrive). -#}
{{ config(severity='warn') }}

with

readings as (

    select distinct device_id
    from {{ ref('readings') }}
    where event_date = date '{{ process_date() }}'

),

devices as (

    select
        device_id,
        site_id
    from {{ ref('devices') }}

)

select
    devices.device_id,
    devices.site_id
from devices
left anti join readings
    on devices.device_id = readings.device_id
