-- One row per line-level CAS triplet (group code, CARC, amount, quantity).
-- Positive amounts reduce the payment.

with source as (

    select * from {{ source('raw', 'era_line_adjustments') }}

),

renamed as (

    select
        cast(adjustment_key as varchar) as adjustment_id,
        cast(service_line_key as varchar) as era_service_line_id,
        cast(claim_key as varchar) as era_claim_id,
        cast(payment_key as varchar) as era_payment_id,
        cast(segment_position as bigint) as segment_position,
        cast(triplet_index as integer) as triplet_index,
        upper(trim(cast(group_code as varchar))) as group_code,
        upper(trim(cast(reason_code as varchar))) as carc_code,
        {{ money('adjustment_amount') }} as adjustment_amount,
        cast(adjustment_quantity as double) as adjustment_quantity
    from source

)

select * from renamed
