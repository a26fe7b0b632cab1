{#- The partition filter a generic test on `relation` gets (see spark__get_where_subquery), from
    the partitioning of the model (its `partition_by` config) or source (its `meta.partition_by`)
    under test: the run's receive days (process_date .. process_date_to) for a table partitioned
    by `received_on`, the event dates the run can own (process_date - late_arrival_days ..
    process_date_to) for one partitioned by `event_date`. A test with
    `meta: {partition_scope: receive_window}` checks every receive day whose rows a run may
    rewrite instead (process_date - late_arrival_days .. process_date_to + late_arrival_days:
    the books of the days whose lines fall on the event dates it recomputes). Empty for any other
    table, when no process_date is set, or with scope_tests_to_run false. -#}
{% macro test_partition_scope(relation) -%}
    {%- set first = process_date() -%}
    {%- if not execute or first == '' or not var('scope_tests_to_run', true) -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set last = process_date_to() -%}
    {%- set partition_by = [] -%}
    {%- for unique_id in model.depends_on.nodes -%}
        {%- set node = graph.nodes.get(unique_id) or graph.sources.get(unique_id) -%}
        {%- if node and node.schema == relation.schema
            and (node.get('alias') or node.get('identifier') or node.name) == relation.identifier -%}
            {%- do partition_by.extend(node.config.get('partition_by')
                or node.meta.get('partition_by') or []) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set late_days = var('late_arrival_days') -%}
    {%- set window = (model.config.get('meta') or {}).get('partition_scope') == 'receive_window' -%}
    {%- if 'received_on' in partition_by and window -%}
        {{- return("received_on between date_sub(date'" ~ first ~ "', " ~ late_days
            ~ ") and date_add(date'" ~ last ~ "', " ~ late_days ~ ")") -}}
    {%- elif 'received_on' in partition_by -%}
        {{- return("received_on between date'" ~ first ~ "' and date'" ~ last ~ "'") -}}
    {%- elif 'event_date' in partition_by -%}
        {{- return("event_date between date_sub(date'" ~ first ~ "', "
            ~ late_days ~ ") and date'" ~ last ~ "'") -}}
    {%- endif -%}
    {{- return('') -}}
{%- endmacro %}
