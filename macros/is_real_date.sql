{#- True when `value` is a real calendar date written YYYY-MM-DD. -#}
{% macro is_real_date(value) -%}
    {%- set match = modules.re.match('^(\\d{4})-(\\d{2})-(\\d{2})$', value) -%}
    {%- if not match -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set year = match.group(1) | int -%}
    {%- set month = match.group(2) | int -%}
    {%- set day = match.group(3) | int -%}
    {%- set leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 -%}
    {%- set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
    {{- return(year >= 1 and 1 <= month <= 12 and 1 <= day <= month_days[month - 1]) -}}
{%- endmacro %}
