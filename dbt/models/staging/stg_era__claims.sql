-- One row per CLP: a claim as paid, denied, forwarded or reversed on one remittance.
-- claim_id = CLP01, the patient control number we sent (charges.claim_id).
-- Patient names and member ids (PHI) in the raw table are not carried forward.
--
-- Incremental (append): the 835 tables are append-only and a row never changes; a
-- night reads only the rows of loads not yet here (is_new_load, see dbt/README.md).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail'
) }}

with source as (

    select * from {{ source('raw', 'era_claims') }}
    where {{ is_new_load('_load_id', [source('raw', 'era_claims')]) }}

),

renamed as (

    select
        cast(claim_key as {{ dbt.type_string() }}) as era_claim_id,
        cast(payment_key as {{ dbt.type_string() }}) as era_payment_id,
        cast(segment_position as {{ dbt.type_bigint() }}) as segment_position,
        cast(patient_control_number as {{ dbt.type_string() }}) as claim_id,
        cast(claim_status_code as {{ dbt.type_string() }}) as claim_status_code,
        {{ money('total_charge_amount') }} as claim_charge_amount,
        {{ money('paid_amount') }} as claim_paid_amount,
        {{ money('patient_responsibility_amount') }} as patient_responsibility_amount,
        cast(claim_filing_indicator_code as {{ dbt.type_string() }}) as claim_filing_indicator_code,
        cast(payer_claim_control_number as {{ dbt.type_string() }}) as payer_claim_control_number,
        cast(facility_type_code as {{ dbt.type_string() }}) as facility_type_code,
        cast(claim_frequency_code as {{ dbt.type_string() }}) as claim_frequency_code,
        cast(drg_code as {{ dbt.type_string() }}) as drg_code,
        cast(statement_from_date as date) as statement_from_date,
        cast(statement_to_date as date) as statement_to_date,
        cast(claim_received_date as date) as claim_received_date,
        {{ money('interest_amount') }} as interest_amount,
        cast(is_balanced as {{ dbt.type_boolean() }}) as is_balanced,
        cast(_load_id as {{ dbt.type_string() }}) as load_id,
        {{ next_build_number() }} as build_number
    from source

)

select * from renamed
