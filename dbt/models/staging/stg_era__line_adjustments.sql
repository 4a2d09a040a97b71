-- One row per line-level CAS triplet (group code, CARC, amount, quantity).
-- Positive amounts reduce the payment.
--
-- Incremental (append): the 835 tables are append-only and a row never changes; a
-- night reads only the rows of loads not yet here (is_new_load, see dbt/README.md).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail'
) }}

with source as (

    select * from {{ source('raw', 'era_line_adjustments') }}
    where {{ is_new_load('_load_id', [source('raw', 'era_line_adjustments')]) }}

),

renamed as (

    select
        cast(adjustment_key as {{ dbt.type_string() }}) as adjustment_id,
        cast(service_line_key as {{ dbt.type_string() }}) as era_service_line_id,
        cast(claim_key as {{ dbt.type_string() }}) as era_claim_id,
        cast(payment_key as {{ dbt.type_string() }}) as era_payment_id,
        cast(segment_position as {{ dbt.type_bigint() }}) as segment_position,
        cast(triplet_index as {{ dbt.type_int() }}) as triplet_index,
        upper(trim(cast(group_code as {{ dbt.type_string() }}))) as group_code,
        upper(trim(cast(reason_code as {{ dbt.type_string() }}))) as carc_code,
        {{ money('adjustment_amount') }} as adjustment_amount,
        cast(adjustment_quantity as {{ type_double() }}) as adjustment_quantity,
        cast(_load_id as {{ dbt.type_string() }}) as load_id,
        {{ next_build_number() }} as build_number
    from source

)

select * from renamed
