{#- The measurements of a reading, whose nulls the day's books count. -#}
{% macro measured_columns() -%}
    {{- return(['power_w', 'soc_percent', 'temperature_c']) -}}
{%- endmacro %}
