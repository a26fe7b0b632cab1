{#- Every Bronze line of the run's receive days parsed and classified once: typed fields, and the
    first rejection reason that applies (null for a line that becomes a reading). Stored per
    receive day so that the models downstream read parsed rows instead of parsing the JSON
    again. -#}
{{
    config(
        partition_by=['received_on'],
        pre_hook="{{ empty_partitions('received_on', process_days()) }}",
    )
}}
{#- The contract's fields in the contract's order, each as the type the line's struct gives it. -#}
{%- set contract_fields = {
    'device_id': 'binary', 'site_id': 'string', 'ts': 'string', 'power_w': 'string',
    'soc_percent': 'string', 'temperature_c': 'string', 'status': 'string',
} -%}

with

raw_telemetry as (

    select
        raw_line,
        source_file,
        line_number,
        received_on
    from {{ source('bronze', 'raw_telemetry') }}
    where received_on between date'{{ process_date() }}' and date'{{ process_date_to() }}'

),

devices as (

    select device_id
    from {{ ref('devices') }}

),

-- A line in the canonical form (the contract's fields in its order, plain values) read by
-- Spark's JSON reader; null for any other line.
canonical as (

    select
        raw_line,
        source_file,
        line_number,
        received_on,
        {{ canonical_json_object('raw_line', contract_fields, measured_columns()) }}
            as canonical_record
    from raw_telemetry

),

wrapped as (

    select
        raw_line,
        source_file,
        line_number,
        received_on,
        canonical_record,
        case
            when canonical_record is null then {{ wrapped_json_line('raw_line') }}
        end as wrapped
    from canonical

),

-- The contract's fields of each line that is one JSON object (null: not an object), as text;
-- device_id as bytes, which only a JSON string casts to (a number, true, an object give null).
parsed as (

    select
        raw_line,
        source_file,
        line_number,
        received_on,
        coalesce(
            canonical_record,
            {{ json_object('raw_line', 'wrapped', contract_fields) }}
        ) as record
    from wrapped

),

-- Each field's value, once per line (columns of their own: the expressions below read them
-- several times).
fields as (

    select
        raw_line,
        source_file,
        line_number,
        received_on,
        record,
        -- A device_id that is not a JSON string (a number, true, an object) is no device_id.
        cast(record.device_id as string) as device_id,
        record.power_w as power_w_text,
        record.soc_percent as soc_percent_text,
        record.temperature_c as temperature_c_text,
        record.ts as ts_text
    from parsed

),

typed as (

    select
        raw_line,
        source_file,
        line_number,
        received_on,
        record is null as is_malformed,
        device_id,
        record.site_id as reported_site_id,
        record.status,
        {{ to_measurement('power_w_text') }} as power_w,
        {{ to_measurement('soc_percent_text') }} as soc_percent,
        {{ to_measurement('temperature_c_text') }} as temperature_c,
        {{ to_reading_at('ts_text') }} as reading_at
    from fields

),

classified as (

    select /*+ broadcast(devices) */
        typed.raw_line,
        typed.source_file,
        typed.line_number,
        typed.device_id,
        typed.reported_site_id,
        typed.status,
        typed.power_w,
        typed.soc_percent,
        typed.temperature_c,
        case
            when typed.is_malformed then 'malformed_json'
            when
                typed.device_id is null or typed.device_id rlike '{{ blank_pattern() }}'
                then 'missing_device_id'
            when typed.reading_at is null then 'invalid_timestamp'
            when devices.device_id is null then 'unknown_device'
            when to_date(typed.reading_at) > typed.received_on then 'out_of_window'
            when
                to_date(typed.reading_at)
                < date_sub(typed.received_on, {{ var('late_arrival_days') }})
                then 'out_of_window'
        end as rejection_reason,
        typed.received_on,
        to_date(typed.reading_at) as event_date,
        typed.reading_at
    from typed
    left join devices
        on typed.device_id = devices.device_id

)

-- Bronze keeps every line's text; here only a rejected line's is kept, for the quarantine.
select /*+ coalesce(4) */
    case when rejection_reason is not null then raw_line end as raw_line,
    source_file,
    line_number,
    device_id,
    reported_site_id,
    status,
    rejection_reason,
    power_w,
    soc_percent,
    temperature_c,
    received_on,
    event_date,
    reading_at
from classified
