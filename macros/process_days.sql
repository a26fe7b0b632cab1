{#- Every receive day this run processes, as sorted 'YYYY-MM-DD' strings: process_date through
    process_date_to (default: process_date alone). A range is processed in one pass: its days are
    ingested, built and tested together. Empty while dbt only parses, or when no process_date is
    set. -#}
{% macro process_days() -%}
    {%- set first = process_date() -%}
    {%- if not execute or first == '' -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set last = process_date_to() -%}
    {%- set start = modules.datetime.date.fromisoformat(first) -%}
    {%- set count = (modules.datetime.date.fromisoformat(last) - start).days + 1 -%}
    {%- set days = [] -%}
    {%- for offset in range(count) -%}
        {%- do days.append((start + modules.datetime.timedelta(days=offset)).isoformat()) -%}
    {%- endfor -%}
    {{- return(days) -}}
{%- endmacro %}
