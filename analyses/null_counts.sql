-- Null measurements per event date and site in Silver (missing, unparseable or cleaned away).
-- dbt compile --profiles-dir profiles --select null_counts, then run target/compiled/... in Spark.
select
    event_date,
    site_id,
    count(*) as readings,
    count_if(power_w is null) as null_power_w,
    count_if(soc_percent is null) as null_soc_percent,
    count_if(temperature_c is null) as null_temperature_c
from {{ ref('readings') }}
group by event_date, site_id
order by event_date, site_id
