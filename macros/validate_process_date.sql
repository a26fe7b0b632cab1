{#- Runs first (on-run-start): stops build, run and test before any SQL when process_date (or
    process_date_to, the last day of a range) is not a real calendar date written YYYY-MM-DD, or
    the range ends before it starts. Other commands (parse, docs generate, compile) check them
    only when they are given. -#}
{% macro validate_process_date() %}
    {%- if execute -%}
        {%- set value = process_date() -%}
        {%- set needs_date = flags.WHICH in ['build', 'run', 'test', 'retry'] -%}
        {%- if value == '' and needs_date -%}
            {{ exceptions.raise_compiler_error(
                "process_date is required: pass the receive day to process, e.g. "
                ~ "--vars '{process_date: \"2025-08-01\"}' (or TELEMETRY_PROCESS_DATE=2025-08-01)") }}
        {%- endif -%}
        {%- set last = run_setting('process_date_to') -%}
        {%- if last != '' and value == '' -%}
            {{ exceptions.raise_compiler_error(
                "process_date_to '" ~ last ~ "' needs process_date, the first day of the range") }}
        {%- endif -%}
        {%- for name, given in [('process_date', value), ('process_date_to', last)] -%}
            {%- if given != '' and not is_real_date(given) -%}
                {{ exceptions.raise_compiler_error(
                    name ~ " must be a real date written YYYY-MM-DD, got '" ~ given ~ "'") }}
            {%- endif -%}
        {%- endfor -%}
        {%- if last != '' and last < value -%}
            {{ exceptions.raise_compiler_error(
                "process_date_to " ~ last ~ " is before process_date " ~ value) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
