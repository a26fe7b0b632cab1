{#- The named fields of the line when it holds exactly one JSON object (JSON whitespace around it
    allowed), as a struct with a field per name (null where the object lacks the field; names
    match exactly, case included), else null: text after the object, a second object, an array, a
    scalar, invalid JSON (also NaN or Infinity as bare words, or a key given twice in one object)
    are not one object. Only an object casts to a struct, and the cast reads just the fields
    named: on a 2-million-line day this took 8.7 s where copying the object out as a variant
    and asking its schema whether it is an object took 15.8 s.
    `fields` maps each name to its type in the struct: `variant` keeps the JSON value (and its type)
    for the model to classify; `binary` is a JSON string's UTF-8 bytes and null for any other value
    (only a string casts to bytes); `string` is the value as text, as `try_variant_get(value, '$',
    'string')` gives it (a JSON string's characters, a number as Spark writes it, true or false, an
    object's or array's JSON text), cast in the same pass: a variant field is copied into a variant
    of its own first, which a string field does not need. On a 2.2-million-line day's staging query,
    site_id, status and ts as strings took 0.96 of the time (median of 10 pairs run in turn in one
    JVM, 0.87 to 1.18), and the three measurements as strings too another 0.96 (8 pairs, 0.76 to
    1.29).

    Spark's JSON readers stop at the end of the first value and ignore what follows, so the line
    is read as the first element of an array closed by a marker string: only a line that is one
    value ends exactly where the marker begins, making an array of two whose second element is
    the marker. A line could itself hold `, "<marker>"]` after its first value; such a line is
    read again with a second marker, which it cannot also hold in the same place. Only a line
    that contains the marker's letters or a `\u` escape (how else would it spell them?) needs the
    second reading. The test is `contains`, which compares only where the first byte matches:
    `instr` compares the whole marker at every position, and took 12% of a 2.2-million-line
    day's parsing. -#}
{% macro json_object(line, wrapped, fields) -%}
    case
        when
            {{ _ends_with_marker(wrapped, '_end_') }}
            and (
                not contains({{ line }}, '_end_') and not contains({{ line }}, '\\u')
                or {{ _ends_with_marker(wrapped_json_line(line, '_fin_'), '_fin_') }}
            )
            then try_variant_get(
                {{ wrapped }}, '$[0]',
                'struct<{% for field, type in fields.items() %}{{ field }}: {{ type }}{{ ", " if not loop.last }}{% endfor %}>'
            )
    end
{%- endmacro %}

{#- The line parsed as the first element of an array closed by the marker string. A model selects
    it once, with '_end_', as a column of its own for json_object: a column referenced several
    times is computed once, where the same expression repeated inside one CASE is not. -#}
{% macro wrapped_json_line(line, marker='_end_') -%}
    try_parse_json(concat('[', {{ line }}, ',"{{ marker }}"]'))
{%- endmacro %}

{% macro _ends_with_marker(wrapped, marker) -%}
    coalesce(
        variant_get({{ wrapped }}, '$[1]', 'string') = '{{ marker }}'
        and variant_get({{ wrapped }}, '$[2]') is null,
        false
    )
{%- endmacro %}
