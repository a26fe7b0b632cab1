{#- A measurement as a double: a JSON number, or a string holding a number ("12.5"), is that
    number; anything else (missing, null, other text, NaN, Infinity, an overflow) is null. -#}
{% macro to_measurement(column) -%}
    case
        when abs(try_cast({{ column }} as double)) < double('Infinity')
            and {{ column }} rlike '^\\s*[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?\\s*$'
            then try_cast({{ column }} as double)
    end
{%- endmacro %}
