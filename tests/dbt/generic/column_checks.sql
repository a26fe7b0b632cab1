{#- Several column checks of one model in one scan, each check's result reported on its own: the
    test returns one row per check that found rows, `check_name` (`not_null(<column>)`,
    `accepted_range(<column>)`, `accepted_values(<column>)`) and its `failures`, and fails on
    their sum. A check of a column counts its offending rows as the single-column tests would:
    `not_null` the nulls; `accepted_range` the non-null values outside [min_value, max_value]
    (either bound optional); `accepted_values` the non-null values not listed. -#}
{% test column_checks(model, not_null=[], accepted_range={}, accepted_values={}) %}
    {{ config(fail_calc='coalesce(sum(failures), 0)') }}
    {%- set checks = [] -%}
    {%- for column in not_null -%}
        {%- do checks.append(('not_null(' ~ column ~ ')', column ~ ' is null')) -%}
    {%- endfor -%}
    {%- for column, bounds in accepted_range.items() -%}
        {%- set outside = [] -%}
        {%- if bounds.get('min_value') is not none -%}
            {%- do outside.append(column ~ ' < ' ~ bounds['min_value']) -%}
        {%- endif -%}
        {%- if bounds.get('max_value') is not none -%}
            {%- do outside.append(column ~ ' > ' ~ bounds['max_value']) -%}
        {%- endif -%}
        {%- do checks.append(('accepted_range(' ~ column ~ ')',
            column ~ ' is not null and (' ~ outside | join(' or ') ~ ')')) -%}
    {%- endfor -%}
    {%- for column, values in accepted_values.items() -%}
        {%- set listed = [] -%}
        {%- for value in values -%}
            {%- do listed.append("'" ~ value ~ "'") -%}
        {%- endfor -%}
        {%- do checks.append(('accepted_values(' ~ column ~ ')',
            column ~ ' is not null and ' ~ column ~ ' not in (' ~ listed | join(', ') ~ ')')) -%}
    {%- endfor -%}

with

counted as (

    select
        {% for name, condition in checks -%}
            count_if({{ condition }}) as check_{{ loop.index }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ model }}

),

per_check as (

    select
        stack(
            {{ checks | length }},
            {% for name, _ in checks -%}
                '{{ name }}', check_{{ loop.index }}{{ ',' if not loop.last }}
            {% endfor %}
        ) as (check_name, failures)
    from counted

)

select
    check_name,
    failures
from per_check
where failures > 0

{% endtest %}
