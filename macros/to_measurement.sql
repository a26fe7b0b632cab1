{#- A measurement, given as its text (the JSON value cast to text in the struct that reads the
    line: a JSON string's characters, a number as Spark writes it, an object's JSON text), as a
    double: a JSON number, or a string holding a number ("12.5", surrounding ASCII whitespace
    allowed), is that number; anything else (missing, null, true/false, an object, other text,
    "NaN", "Infinity", an overflow such as 1e400) is null. A number and a string holding the same
    digits are the same measurement, so the text alone decides: the JSON type is not needed, nor a
    variant per field to ask it. The cast gives the nearest double, as for a string. -#}
{% macro to_measurement(text) -%}
    case
        when {{ text }} rlike '^\\s*[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?\\s*$'
            then {{ finite("try_cast(" ~ text ~ " as double)") }}
    end
{%- endmacro %}

{#- A double, or null when it is not finite (NaN, ±Infinity). -#}
{% macro finite(number) -%}
    case when abs({{ number }}) < double('Infinity') then {{ number }} end
{%- endmacro %}
