-- One row per CLP: a claim as paid, denied, forwarded or reversed on one remittance.
-- claim_id = CLP01, the patient control number we sent (charges.claim_id).
-- Patient names and member ids (PHI) in the raw table are not carried forward.

with source as (

    select * from {{ source('raw', 'era_claims') }}

),

renamed as (

    select
        cast(claim_key as varchar) as era_claim_id,
        cast(payment_key as varchar) as era_payment_id,
        cast(segment_position as bigint) as segment_position,
        cast(patient_control_number as varchar) as claim_id,
        cast(claim_status_code as varchar) as claim_status_code,
        {{ money('total_charge_amount') }} as claim_charge_amount,
        {{ money('paid_amount') }} as claim_paid_amount,
        {{ money('patient_responsibility_amount') }} as patient_responsibility_amount,
        cast(claim_filing_indicator_code as varchar) as claim_filing_indicator_code,
        cast(payer_claim_control_number as varchar) as payer_claim_control_number,
        cast(facility_type_code as varchar) as facility_type_code,
        cast(claim_frequency_code as varchar) as claim_frequency_code,
        cast(drg_code as varchar) as drg_code,
        cast(statement_from_date as date) as statement_from_date,
        cast(statement_to_date as date) as statement_to_date,
        cast(claim_received_date as date) as claim_received_date,
        {{ money('interest_amount') }} as interest_amount,
        cast(is_balanced as boolean) as is_balanced
    from source

)

select * from renamed
