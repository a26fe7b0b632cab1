{#- Seeds on Spark, loaded again only when their file (or column types) changed.

    dbt's seed materialization drops the table, creates it and inserts the rows on every run.
    A run that finds the table already holding this version of the file leaves it alone: the
    build saves the reload, and runs of different days on a shared server (server mode) never
    drop the table under each other. The version is kept as a table property. -#}
{% materialization seed, adapter='spark' %}
    {%- set version = seed_version() -%}
    {%- set existing = adapter.get_relation(database=database, schema=schema, identifier=model['alias']) -%}
    {%- if existing is not none and existing.is_table and not should_full_refresh()
            and loaded_seed_version(existing) == version -%}
        {%- do store_result('agate_table', response='OK', agate_table=load_agate_table()) -%}
        {{ run_hooks(pre_hooks) }}
        {% call noop_statement('main', 'UNCHANGED', 'UNCHANGED', 0) %}
            -- {{ this }} already holds this version of the seed: {{ version }}
        {% endcall %}
        {{ run_hooks(post_hooks) }}
        {{ return({'relations': [this.incorporate(type='table')]}) }}
    {%- endif -%}
    {%- set relations = dbt.materialization_seed_default() -%}
    {% call statement('seed_version') %}
        alter table {{ this }} set tblproperties ('telemetry.seed_version' = '{{ version }}')
    {% endcall %}
    {{ return(relations) }}
{% endmaterialization %}

