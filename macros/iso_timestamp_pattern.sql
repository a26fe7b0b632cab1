{#- An ISO-8601 date-time: date, 'T', time to the second with up to 6 decimals, then 'Z', an
    offset '+hh:mm' / '-hh:mm', or nothing (read as UTC). Spark regex, for use in a SQL literal. -#}
{% macro iso_timestamp_pattern() -%}
    ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})?$
{%- endmacro %}
