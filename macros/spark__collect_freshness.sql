{#- Source freshness on the run's data: on its branch (var `run_branch`), and for a run that
    names its receive days (var `process_date`, `process_date_to`) the Bronze lines of those days
    only, so that a run whose ingest landed nothing for them finds Bronze stale (no line counts as
    infinitely old), whatever earlier days hold. -#}
{% macro spark__collect_freshness(source, loaded_at_field, filter) %}
    {%- set on_branch = use_run_branch() -%}
    {%- if on_branch -%}
        {% call statement('use_run_branch') -%} {{ on_branch }} {%- endcall %}
    {%- endif -%}
    {%- set conditions = [filter] if filter else [] -%}
    {%- if process_date() and source.identifier == 'raw_telemetry' -%}
        {%- do conditions.append("received_on between date'" ~ process_date() ~ "' and date'"
                                 ~ process_date_to() ~ "'") -%}
    {%- endif -%}
    {{ return(default__collect_freshness(source, loaded_at_field,
                                         conditions | join(' and '))) }}
{% endmacro %}
