-- Readings whose cleaned values break the contract's bounds: must return no rows.
select
    device_id,
    reading_at,
    power_w,
    soc_percent,
    temperature_c
from {{ ref('readings') }}
where
    power_w < 0
    or soc_percent not between 0 and 100
    or temperature_c not between -40 and 85
