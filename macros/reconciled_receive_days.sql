{#- The receive days whose books the run rewrites, and the event dates their lines can fall
    on, read from the int_receive_day_event_dates model (pass
    ref('int_receive_day_event_dates')): the processed days, and every receive day that owns an
    event date the run recomputes (which of its copies Silver keeps may have changed, a later
    day's copy winning over it), with every event date those days own. A day owns the dates of
    its accepted lines, its own date and the dates it owned before, so the lists can hold a day
    or a date more than the lines need: a book recomputed from unchanged lines is the same book.
    One plain scan of the model's rows near the run's days (a few per receive day, where the
    staged lines hold every line), worked out here rather than by joins and shuffles in Spark.
    Returned as {'receive_days': [...], 'event_dates': [...]}, sorted 'YYYY-MM-DD' strings;
    empty lists while the run processes no receive day (process_days: dbt only parses, or
    builds with --empty: the book then gets no row at all, not an empty one for each processed
    day). -#}
{% macro reconciled_receive_days(event_dates_relation) -%}
    {%- set processed = process_days() -%}
    {%- if processed | length == 0 -%}
        {{- return({'receive_days': [], 'event_dates': []}) -}}
    {%- endif -%}
    {#- The receive days that can own a date the run owns: a date the run owns lies at most
        late_arrival_days before its first day, and a day owns dates up to late_arrival_days
        before itself. -#}
    {%- set query -%}
        select
            cast(received_on as string) as received_on,
            cast(event_date as string) as event_date
        from {{ event_dates_relation }}
        where
            received_on between date_sub(date'{{ process_date() }}', {{ var('late_arrival_days') }})
            and date_add(date'{{ process_date_to() }}', {{ var('late_arrival_days') }})
    {%- endset -%}
    {%- set on_branch = use_run_branch() -%}
    {%- if on_branch -%}
        {%- do run_query(on_branch) -%}
    {%- endif -%}
    {%- set owners = run_query(query).rows -%}
    {%- set owned = owners | selectattr(0, 'in', processed) | map(attribute=1) | list -%}
    {%- set receive_days = (
        processed + (owners | selectattr(1, 'in', owned) | map(attribute=0) | list)
    ) | unique | sort | list -%}
    {%- set event_dates = (
        owners | selectattr(0, 'in', receive_days) | map(attribute=1)
    ) | unique | sort | list -%}
    {{- return({'receive_days': receive_days, 'event_dates': event_dates}) -}}
{%- endmacro %}
