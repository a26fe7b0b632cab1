{#- A SQL list of date literals for an `in (...)` filter; `null` (matches nothing) when empty. -#}
{% macro date_list(dates) -%}
    {%- if dates | length == 0 -%}
        null
    {%- else -%}
        {%- for day in dates -%}
            date'{{ day }}'{{ ", " if not loop.last }}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{#- The dates as a SQL array<date>, empty when there is none (an array of `date_list`'s null
    would explode into one null row). -#}
{% macro date_array(dates) -%}
    cast(array({% if dates | length > 0 %}{{ date_list(dates) }}{% endif %}) as array<date>)
{%- endmacro %}
