{#- The event dates the run recomputes (those its receive days own), as a sorted list of 'YYYY-MM-DD' strings,
    read from the int_receive_day_event_dates model (pass ref('int_receive_day_event_dates')). Empty while
    the run processes no receive day (process_days: dbt only parses, compiles without a
    process_date as docs generate does, or builds with --empty). -#}
{% macro owned_event_dates(event_dates_relation) -%}
    {%- if process_days() | length == 0 -%}
        {{- return([]) -}}
    {%- endif -%}
    {#- A plain scan of a few rows per receive day, made distinct and sorted here: a `distinct`
        and an `order by` in the query are two shuffles, each a stage of its own. -#}
    {%- set query -%}
        select cast(event_date as string) as event_date
        from ({{ owned_event_dates_sql(event_dates_relation) }}) as owned
    {%- endset -%}
    {%- set on_branch = use_run_branch() -%}
    {%- if on_branch -%}
        {%- do run_query(on_branch) -%}
    {%- endif -%}
    {{- return(run_query(query).columns[0].values() | unique | sort | list) -}}
{%- endmacro %}


{#- A filter keeping the rows of the event dates the run owns: `event_date` within the window the
    run's receive days can own (back to late_arrival_days before the first; every date they own
    lies in it while late_arrival_days stays the same, and Iceberg prunes the partitions or files
    outside it before the query runs), and among the int_receive_day_event_dates model's dates
    (pass ref('int_receive_day_event_dates')), read as the query runs. For the tests: unlike
    owned_event_dates, it costs no query of its own while the test compiles. -#}
{% macro owned_event_dates_filter(event_dates_relation) -%}
    event_date between date_sub(date'{{ process_date() }}', {{ var('late_arrival_days') }})
    and date'{{ process_date_to() }}'
    and event_date in ({{ owned_event_dates_sql(event_dates_relation) }})
{%- endmacro %}


{#- The same event dates as a query: one `event_date` column, with repeats. -#}
{% macro owned_event_dates_sql(event_dates_relation) -%}
    select event_date
    from {{ event_dates_relation }}
    where received_on between date'{{ process_date() }}' and date'{{ process_date_to() }}'
{%- endmacro %}
