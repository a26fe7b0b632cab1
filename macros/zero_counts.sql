{#- A map of each name to a zero count (bigint), for a day with nothing to count: the same type as
    a map of `count_if`s over the same names. -#}
{% macro zero_counts(names) -%}
    map(
        {%- for name in names -%}
            '{{ name }}', 0L{{ ", " if not loop.last }}
        {%- endfor -%}
    )
{%- endmacro %}
