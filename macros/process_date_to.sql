{#- The last receive day this run processes (var process_date_to, default process_date). -#}
{% macro process_date_to() -%}
    {%- set last = var('process_date_to', '') | string | trim -%}
    {{- return(last if last != '' else process_date()) -}}
{%- endmacro %}
