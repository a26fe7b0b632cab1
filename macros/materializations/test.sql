{#- Data tests on Spark, with failing rows stored only for a test that finds some.

    dbt's test materialization, with store_failures on, drops and creates the test's relation in
    the audit schema for every test of every run, two metastore writes per test whether it finds
    rows or not. Here the test's query runs first: a test that finds failing rows then gets its
    view (or table) of them, and one that finds none drops what an earlier run stored. The audit
    schema holds the tests that found failing rows in their latest run, each with those rows. -#}
{% materialization test, adapter='spark' %}
    {%- set limit = config.get('limit') -%}
    {%- set sql_header = config.get('sql_header') if flags.REQUIRE_SQL_HEADER_IN_TEST_CONFIGS else none -%}
    {%- set sql_with_limit = get_limit_subquery_sql(sql, limit) -%}

    {#- A run's tests audit its branch: the data it has not published yet. -#}
    {%- set on_branch = use_run_branch() -%}
    {%- if on_branch -%}
        {% call statement('use_run_branch') -%} {{ on_branch }} {%- endcall %}
    {%- endif -%}

    {% call statement('main', fetch_result=True) -%}
        {% if sql_header %}{{ sql_header }}{% endif %}
        {{ get_test_sql(sql_with_limit, config.get('fail_calc'), config.get('warn_if'),
                        config.get('error_if'), limit=none) }}
    {%- endcall %}

    {%- set relations = [] -%}
    {%- if should_store_failures() -%}
        {%- set store_failures_as = config.get('store_failures_as') or 'table' -%}
        {%- if store_failures_as not in ['table', 'view'] -%}
            {{ exceptions.raise_compiler_error(
                "'" ~ store_failures_as ~ "' is not a valid value for `store_failures_as`. "
                ~ "Accepted values are: ['ephemeral', 'table', 'view']") }}
        {%- endif -%}
        {%- set failures = load_result('main')['table'].columns['failures'].values()[0] -%}
        {#- Iceberg views are not listed with the tables dbt looks up: drop by kind. -#}
        {% call statement('drop_stored_failures') -%}
            drop {{ 'view' if store_failures_as == 'view' else 'table' }} if exists
                {{ api.Relation.create(identifier=model['alias'], schema=schema, database=database) }}
        {%- endcall %}
        {%- if (failures or 0) != 0 -%}
            {%- set failing_rows = api.Relation.create(identifier=model['alias'], schema=schema,
                                                       database=database, type=store_failures_as) -%}
            {% call statement('store_failures', auto_begin=True) -%}
                {% if sql_header %}{{ sql_header }}{% endif %}
                {{ get_create_sql(failing_rows, sql_with_limit) }}
            {%- endcall %}
            {%- do relations.append(failing_rows) -%}
            {{ adapter.commit() }}
        {%- endif -%}
    {%- endif -%}

    {{ return({'relations': relations}) }}
{% endmaterialization %}
