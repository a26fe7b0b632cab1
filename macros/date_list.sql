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
