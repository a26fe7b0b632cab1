{#- The receive days whose books the run rewrites, and the event dates their accepted lines
    fall on: the processed days, and every receive day that sent an accepted line
    for an event date the run recomputes (which of its copies Silver keeps may have changed, a
    later day's copy winning over it). Read from the staged lines (pass
    ref('stg_bronze__raw_telemetry') and owned_event_dates(...)) as
    {'receive_days': [...], 'event_dates': [...]}, sorted 'YYYY-MM-DD' strings; empty lists while
    dbt only parses. -#}
{% macro reconciled_receive_days(staged_relation, owned_dates) -%}
    {%- if not execute or process_date() == '' or owned_dates | length == 0 -%}
        {{- return({'receive_days': [], 'event_dates': []}) -}}
    {%- endif -%}
    {%- set query -%}
        with

        -- Distinct (receive day, event date) pairs first: joined to the receive days line by
        -- line, a whole receive day's lines would meet in one task.
        staged as (
            select distinct
                received_on,
                event_date
            from {{ staged_relation }}
            where
                received_on between date'{{ owned_dates[0] }}'
                and date_add(date'{{ owned_dates[-1] }}', {{ var('late_arrival_days') }})
                and rejection_reason is null
        ),

        receive_days as (
            select explode(
                cast(array({{ date_list(process_days()) }}) as array<date>)
            ) as received_on
            union
            select received_on
            from staged
            where event_date in ({{ date_list(owned_dates) }})
        )

        select distinct
            cast(receive_days.received_on as string) as received_on,
            cast(staged.event_date as string) as event_date
        from receive_days
        left join staged
            on receive_days.received_on = staged.received_on
    {%- endset -%}
    {%- set on_branch = use_run_branch() -%}
    {%- if on_branch -%}
        {%- do run_query(on_branch) -%}
    {%- endif -%}
    {%- set rows = run_query(query).rows -%}
    {%- set receive_days = rows | map(attribute=0) | unique | sort | list -%}
    {%- set event_dates = rows | map(attribute=1) | reject('none') | unique | sort | list -%}
    {{- return({'receive_days': receive_days, 'event_dates': event_dates}) -}}
{%- endmacro %}
