-- One row per SVC: a service line as adjudicated on one remittance claim.
--
-- Incremental (append): the 835 tables are append-only and a row never changes; a
-- night reads only the rows of loads not yet here (is_new_load, see dbt/README.md).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail'
) }}

with source as (

    select * from {{ source('raw', 'era_service_lines') }}
    where {{ is_new_load('_load_id', [source('raw', 'era_service_lines')]) }}

),

renamed as (

    select
        cast(service_line_key as {{ dbt.type_string() }}) as era_service_line_id,
        cast(claim_key as {{ dbt.type_string() }}) as era_claim_id,
        cast(payment_key as {{ dbt.type_string() }}) as era_payment_id,
        cast(segment_position as {{ dbt.type_bigint() }}) as segment_position,
        cast(procedure_qualifier as {{ dbt.type_string() }}) as procedure_qualifier,
        {{ normalize_code('procedure_code') }} as procedure_code,
        cast(modifier_1 as {{ dbt.type_string() }}) as modifier_1,
        cast(modifier_2 as {{ dbt.type_string() }}) as modifier_2,
        cast(modifier_3 as {{ dbt.type_string() }}) as modifier_3,
        cast(modifier_4 as {{ dbt.type_string() }}) as modifier_4,
        {{ money('line_charge_amount') }} as line_charge_amount,
        {{ money('line_paid_amount') }} as line_paid_amount,
        cast(revenue_code as {{ dbt.type_string() }}) as revenue_code,
        cast(units_paid as {{ type_double() }}) as units_paid,
        {{ normalize_code('original_procedure_code') }} as original_procedure_code,
        cast(original_units as {{ type_double() }}) as original_units,
        coalesce(cast(service_date as date), cast(service_start_date as date)) as service_date,
        cast(service_end_date as date) as service_end_date,
        cast(line_control_number as {{ dbt.type_string() }}) as line_control_number,
        {{ money('allowed_amount') }} as allowed_amount,
        cast(is_balanced as {{ dbt.type_boolean() }}) as is_balanced,
        cast(_load_id as {{ dbt.type_string() }}) as load_id,
        {{ next_build_number() }} as build_number
    from source

)

select * from renamed
