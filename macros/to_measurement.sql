{#- A measurement (a variant holding one JSON value) as a double: a JSON number, or a string
    holding a number ("12.5", surrounding ASCII whitespace allowed), is that number; anything else
    (missing, null, true/false, other text, "NaN", "Infinity", an overflow such as 1e400) is
    null. -#}
{% macro to_measurement(value) -%}
    case
        when
            schema_of_variant({{ value }}) in ('BIGINT', 'DOUBLE')
            or schema_of_variant({{ value }}) like 'DECIMAL(%'
            then {{ finite("variant_get(" ~ value ~ ", '$', 'double')") }}
        when
            schema_of_variant({{ value }}) = 'STRING'
            and variant_get({{ value }}, '$', 'string')
            rlike '^\\s*[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?\\s*$'
            then {{ finite("try_cast(variant_get(" ~ value ~ ", '$', 'string') as double)") }}
    end
{%- endmacro %}

{#- A double, or null when it is not finite (NaN, ±Infinity). -#}
{% macro finite(number) -%}
    case when abs({{ number }}) < double('Infinity') then {{ number }} end
{%- endmacro %}
