{#- A warning for the operator, not a contract breach: site-days of the processed dates where more
    than `anomaly_share_warn` (default 5%) of the readings are anomalies. -#}
{{ config(severity='warn') }}

select
    event_date,
    site_id,
    anomaly_count,
    readings_count
from {{ ref('site_daily_kpis') }}
where
    event_date between date'{{ process_date() }}' and date'{{ process_date_to() }}'
    and readings_count > 0
    and anomaly_count > {{ var('anomaly_share_warn', 0.05) }} * readings_count
