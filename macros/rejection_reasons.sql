{#- Silver's rejection reasons, in the order they are tried (the first that applies is the line's
    reason). The staging model assigns them; the quarantine test, the day's books and the metrics
    read this list. -#}
{% macro rejection_reasons() -%}
    {{- return(['malformed_json', 'missing_device_id', 'invalid_timestamp', 'unknown_device',
                'out_of_window']) -}}
{%- endmacro %}
