{#- Runs first (on-run-start): stops build, run and test before any SQL when process_date is not a
    real calendar date written YYYY-MM-DD. Other commands (parse, docs generate, compile) check it
    only when it is given. -#}
{% macro validate_process_date() %}
    {%- if execute -%}
        {%- set value = process_date() -%}
        {%- set needs_date = flags.WHICH in ['build', 'run', 'test', 'retry'] -%}
        {%- if value == '' and needs_date -%}
            {{ exceptions.raise_compiler_error(
                "process_date is required: pass the receive day to process, e.g. "
                ~ "--vars '{process_date: \"2025-08-01\"}'") }}
        {%- endif -%}
        {%- if value != '' -%}
            {%- set match = modules.re.match('^(\\d{4})-(\\d{2})-(\\d{2})$', value) -%}
            {%- set valid = false -%}
            {%- if match -%}
                {%- set year = match.group(1) | int -%}
                {%- set month = match.group(2) | int -%}
                {%- set day = match.group(3) | int -%}
                {%- set leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 -%}
                {%- set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
                {%- set valid = year >= 1 and 1 <= month <= 12 and 1 <= day <= month_days[month - 1] -%}
            {%- endif -%}
            {%- if not valid -%}
                {{ exceptions.raise_compiler_error(
                    "process_date must be a real date written YYYY-MM-DD, got '" ~ value ~ "'") }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
