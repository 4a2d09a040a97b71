-- One row per SVC: a service line as adjudicated on one remittance claim.

with source as (

    select * from {{ source('raw', 'era_service_lines') }}

),

renamed as (

    select
        cast(service_line_key as varchar) as era_service_line_id,
        cast(claim_key as varchar) as era_claim_id,
        cast(payment_key as varchar) as era_payment_id,
        cast(segment_position as bigint) as segment_position,
        cast(procedure_qualifier as varchar) as procedure_qualifier,
        {{ normalize_code('procedure_code') }} as procedure_code,
        cast(modifier_1 as varchar) as modifier_1,
        cast(modifier_2 as varchar) as modifier_2,
        cast(modifier_3 as varchar) as modifier_3,
        cast(modifier_4 as varchar) as modifier_4,
        {{ money('line_charge_amount') }} as line_charge_amount,
        {{ money('line_paid_amount') }} as line_paid_amount,
        cast(revenue_code as varchar) as revenue_code,
        cast(units_paid as double) as units_paid,
        {{ normalize_code('original_procedure_code') }} as original_procedure_code,
        cast(original_units as double) as original_units,
        coalesce(cast(service_date as date), cast(service_start_date as date)) as service_date,
        cast(service_end_date as date) as service_end_date,
        cast(line_control_number as varchar) as line_control_number,
        {{ money('allowed_amount') }} as allowed_amount,
        cast(is_balanced as boolean) as is_balanced
    from source

)

select * from renamed
