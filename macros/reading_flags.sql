{#- Silver's cleaning flags: (name in the metrics, boolean column of silver.readings). -#}
{% macro reading_flags() -%}
    {{- return([
        ('power_capped', 'is_power_capped'),
        ('soc_out_of_range', 'is_soc_out_of_range'),
        ('temperature_out_of_range', 'is_temperature_out_of_range'),
    ]) -}}
{%- endmacro %}
