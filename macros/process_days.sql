{#- Every receive day this run processes, as sorted 'YYYY-MM-DD' strings: process_date through
    process_date_to (default: process_date alone). A range is processed in one pass: its days are
    ingested, built and tested together. Empty while dbt only parses, when no process_date is
    set, and in `dbt build --empty`: a build that reads no rows processes no day, so it neither
    empties a day's partitions nor writes a row for one (on a new lakehouse it makes the tables,
    empty, and a schema-only check of an existing one must leave its data as it is). -#}
{% macro process_days() -%}
    {%- set first = process_date() -%}
    {%- if not execute or first == '' or flags.EMPTY -%}
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
