{#- The version of the seed being built: its file's checksum and its column types. -#}
{% macro seed_version() -%}
    {{- return(model['checksum']['checksum'] ~ ':' ~ local_md5(tojson(config.get('column_types', {}), sort_keys=True))) -}}
{%- endmacro %}
