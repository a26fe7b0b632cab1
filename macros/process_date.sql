{#- The first receive day this run processes (var process_date, else the environment's
    TELEMETRY_PROCESS_DATE: see run_setting), as 'YYYY-MM-DD'. -#}
{% macro process_date() -%}
    {{- return(run_setting('process_date')) -}}
{%- endmacro %}
