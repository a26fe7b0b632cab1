{#- The event dates the run recomputes (those its receive days own), as a sorted list of 'YYYY-MM-DD' strings,
    read from the int_receive_day_event_dates model (pass ref('int_receive_day_event_dates')). Empty while
    dbt only parses, or compiles without a process_date (docs generate). -#}
{% macro owned_event_dates(event_dates_relation) -%}
    {%- if not execute or process_date() == '' -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set query -%}
        select distinct cast(event_date as string) as event_date
        from {{ event_dates_relation }}
        where received_on between date'{{ process_date() }}' and date'{{ process_date_to() }}'
        order by event_date
    {%- endset -%}
    {%- set on_branch = use_run_branch() -%}
    {%- if on_branch -%}
        {%- do run_query(on_branch) -%}
    {%- endif -%}
    {{- return(run_query(query).columns[0].values() | list) -}}
{%- endmacro %}
