{#- Generic tests on the partitioned tables check the partitions the run wrote, not the whole
    history, so a day's tests cost the same after a year as on day one: the receive day for the
    tables partitioned by `received_on` (Bronze, the staged lines, quarantine, reconciliation,
    event dates), and the event dates a run can own (process_date - late_arrival_days ..
    process_date) for Silver readings and Gold. A test's own `where` still applies. Pass
    --vars '{scope_tests_to_run: false}' to test whole tables. -#}
{% macro spark__get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do filters.append(where) -%}
    {%- endif -%}
    {%- set scope = test_partition_scope(relation) -%}
    {%- if scope -%}
        {%- do filters.append(scope) -%}
    {%- endif -%}
    {%- if filters -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ filters | join(' and ')
            ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
