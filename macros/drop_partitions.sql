{#- Drops the partitions of {{ this }} whose `column` is one of `values` (a pre-hook).

    Dynamic insert_overwrite replaces only the partitions that receive rows; dropping the
    partitions a run owns first means a recomputation with no rows leaves them empty, never stale.
    Does nothing on the first run, when the table does not exist yet. -#}
{% macro drop_partitions(column, values) -%}
    {%- if execute and values | length > 0 -%}
        {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}
        {%- if existing is not none -%}
            {%- for value in values %}
                {%- call statement('drop_partition_' ~ loop.index) -%}
                    alter table {{ this }} drop if exists partition ({{ column }} = '{{ value }}')
                {%- endcall -%}
            {%- endfor %}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
