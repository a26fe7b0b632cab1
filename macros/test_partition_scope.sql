{#- The partition filter a generic test on `identifier` gets (see spark__get_where_subquery);
    empty when the table is not partitioned by day or no process_date is set. -#}
{% macro test_partition_scope(identifier) -%}
    {%- set day = process_date() -%}
    {%- if day == '' or not var('scope_tests_to_run', true) -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set by_receive_day = ['raw_telemetry', 'stg_bronze__raw_telemetry', 'quarantine',
                              'receive_day_reconciliation', 'receive_day_event_dates'] -%}
    {%- set by_event_date = ['readings', 'site_daily_kpis'] -%}
    {%- if identifier in by_receive_day -%}
        {{- return("received_on = date'" ~ day ~ "'") -}}
    {%- elif identifier in by_event_date -%}
        {{- return("event_date between date_sub(date'" ~ day ~ "', "
            ~ var('late_arrival_days') ~ ") and date'" ~ day ~ "'") -}}
    {%- endif -%}
    {{- return('') -}}
{%- endmacro %}
