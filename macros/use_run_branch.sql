{#- `set spark.wap.branch = <branch>` when the run writes on a branch of its own (the var
    `run_branch` as the DAG sets it, else TELEMETRY_RUN_BRANCH as `telemetry run` does: see
    run_setting), else nothing. Models run it as their first pre-hook and tests and compile-time
    queries before they read, so that on every connection (also a server's, one per dbt thread)
    they write and read the run's unpublished data. -#}
{% macro use_run_branch() -%}
    {%- set branch = run_setting('run_branch') -%}
    {%- if branch -%}
        {%- if not modules.re.match('^[a-z][a-z0-9_]{0,63}$', branch) -%}
            {{- exceptions.raise_compiler_error("run_branch " ~ branch ~ " is not a branch name") -}}
        {%- endif -%}
        {{- return('set spark.wap.branch = ' ~ branch) -}}
    {%- endif -%}
    {{- return('') -}}
{%- endmacro %}
