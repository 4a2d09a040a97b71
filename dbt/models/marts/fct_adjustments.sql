-- Grain: one row per CAS reason/amount/quantity triplet (claim level or line level), with
-- its CARC category, denial flag and remittance context.

with adjustments as (

    select * from {{ ref('int_adjustments_categorized') }}

),

final as (

    select
        adjustment_id,
        adjustment_level,
        era_claim_id,
        era_service_line_id,
        claim_id,
        era_payment_id,
        remittance_date,
        remittance_month,
        payer_id,
        facility_id,
        claim_status_code,
        is_first_adjudication,
        is_reversal,
        group_code as carc_group,
        carc_code,
        denial_category,
        is_denial,
        adjustment_amount,
        adjustment_quantity
    from adjustments

)

select * from final
