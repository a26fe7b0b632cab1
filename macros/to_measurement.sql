{#- A measurement (a variant holding one JSON value) as a double: a JSON number, or a string
    holding a number ("12.5", surrounding ASCII whitespace allowed), is that number; anything else
    (missing, null, true/false, other text, "NaN", "Infinity", an overflow such as 1e400) is
    null. `value_type` is a column holding `schema_of_variant(value)`: computed once per row in
    a CTE of its own, not once per branch of the CASE.
    A number is read from its JSON text (`to_json`, then a cast to double), not with
    `variant_get(..., 'double')`, which builds a cast expression object for every value not
    already a double (a decimal such as 12.5, an integer): a 2.2-million-line day's whole run took
    0.95 of the time. Both give the nearest double. -#}
{% macro to_measurement(value, value_type) -%}
    case
        when
            {{ value_type }} in ('BIGINT', 'DOUBLE')
            or {{ value_type }} like 'DECIMAL(%'
            then {{ finite("cast(to_json(" ~ value ~ ") as double)") }}
        when
            {{ value_type }} = 'STRING'
            and variant_get({{ value }}, '$', 'string')
            rlike '^\\s*[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?\\s*$'
            then {{ finite("try_cast(variant_get(" ~ value ~ ", '$', 'string') as double)") }}
    end
{%- endmacro %}

{#- A double, or null when it is not finite (NaN, ±Infinity). -#}
{% macro finite(number) -%}
    case when abs({{ number }}) < double('Infinity') then {{ number }} end
{%- endmacro %}
