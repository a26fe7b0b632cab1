{#- A setting of the run as 'text': the var `name` when it is given (dbt --vars), else, once the
    run executes, the environment variable TELEMETRY_<NAME>; '' when neither is set.
    `telemetry run` passes the day and its branch in the environment: its vars then stay the same
    from one day to the next, and dbt keeps its partial parse (new vars make it parse the whole
    project again). While dbt parses, only the var is read, so a parse never depends on the day. -#}
{% macro run_setting(name) -%}
    {%- set given = var(name, '') | string | trim -%}
    {%- if given == '' and execute -%}
        {%- set given = env_var('TELEMETRY_' ~ name | upper, '') | trim -%}
    {%- endif -%}
    {{- return(given) -}}
{%- endmacro %}
