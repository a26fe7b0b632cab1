{#- An accepted `ts`, in the contract's terms: `YYYY-MM-DDThh:mm[:ss[.fraction]]` (a fraction of
    any length), then optionally `Z` or an offset `±hh:mm`, `±hhmm` or `±hh` up to ±18:00; year
    0000 is not a date. Field ranges (month 01-12, a real day of the month, hour 00-23, minute and
    second 00-59) are checked by the conversion, not here. A Java regular expression for a SQL
    literal: `\z` is the very end (`$` would also match before a final line break). -#}
{% macro iso_timestamp_pattern() -%}
    ^(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-](0[0-9]|1[0-8])(:?[0-5][0-9])?)?\\z
{%- endmacro %}

{#- `ts` (a string) as a UTC timestamp, or null when it is not an accepted ISO-8601 date-time or
    names no real moment (30 February, 24:00, an offset beyond ±18:00). Written in the form
    Spark's cast reads (seconds present, offset with minutes) before it is cast; the fraction is
    truncated to microseconds and an offset converted to UTC; no offset means UTC. -#}
{% macro to_reading_at(ts) -%}
    case
        when {{ ts }} rlike '{{ iso_timestamp_pattern() }}'
            then try_cast(
                regexp_replace(
                    regexp_replace({{ ts }}, '^(.{16})(?=[Z+-]|$)', '$1:00'),
                    '([+-][0-9]{2})$', '$1:00'
                ) as timestamp
            )
    end
{%- endmacro %}
