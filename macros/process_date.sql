{#- The first receive day this run processes (var process_date), as 'YYYY-MM-DD'. -#}
{% macro process_date() -%}
    {{- return(var('process_date') | string | trim) -}}
{%- endmacro %}
