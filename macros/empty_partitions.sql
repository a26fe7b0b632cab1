{#- Empties the partitions of {{ this }} whose `column` is one of `values` (a pre-hook).

    Dynamic insert_overwrite replaces only the partitions that receive rows; emptying the
    partitions a run owns first means a recomputation with no rows leaves them empty, never stale.
    One Iceberg delete for all of them. Does nothing on the first run, when the table does not
    exist yet. -#}
{% macro empty_partitions(column, values) -%}
    {%- if execute and values | length > 0 -%}
        {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}
        {%- if existing is not none -%}
            {%- call statement('empty_partitions') -%}
                delete from {{ this }}
                where {{ column }} in ({{ date_list(values) }})
            {%- endcall -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
