{#- The seed version a table was last loaded with, or none. -#}
{% macro loaded_seed_version(relation) -%}
    {%- set rows = run_query("show tblproperties " ~ relation ~ " ('telemetry.seed_version')") -%}
    {{- return(rows.rows[0][1] if rows.rows | length == 1 and rows.columns | length == 2 else none) -}}
{%- endmacro %}
