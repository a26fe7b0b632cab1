{#- The last receive day this run processes (var process_date_to, else
    TELEMETRY_PROCESS_DATE_TO: see run_setting; default process_date). -#}
{% macro process_date_to() -%}
    {%- set last = run_setting('process_date_to') -%}
    {{- return(last if last != '' else process_date()) -}}
{%- endmacro %}
