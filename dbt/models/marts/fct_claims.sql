-- Grain: one row per claim_id, billed (on charge lines) or remitted (in an 835), with its
-- billed charges, first adjudication, denial outcome and net payment to date.

with claims_billed as (

    select * from {{ ref('int_claims_billed') }}

),

claims_adjudicated as (

    select * from {{ ref('int_claims_adjudicated') }}

),

claims_net_paid as (

    select * from {{ ref('int_claims_net_paid') }}

),

encounters as (

    select * from {{ ref('stg_ehr__encounters') }}

),

claim_ids as (

    select claim_id from claims_billed
    union
    select claim_id from claims_net_paid

),

final as (

    select
        claim_ids.claim_id,
        coalesce(claims_billed.encounter_id, claims_adjudicated.encounter_id) as encounter_id,
        claims_billed.facility_id,
        coalesce(claims_adjudicated.payer_id, encounters.primary_payer_id) as payer_id,
        encounters.primary_payer_id,
        claims_billed.claim_id is not null as has_charge_lines,
        coalesce(claims_billed.charge_lines, 0) as charge_lines,
        claims_billed.billed_charge_amount,
        claims_billed.first_service_date,
        claims_billed.last_service_date,
        claims_net_paid.claim_id is not null as is_remitted,
        claims_adjudicated.claim_id is not null as is_adjudicated,
        claims_adjudicated.first_remittance_date as first_adjudication_date,
        claims_adjudicated.remittance_month as first_adjudication_month,
        claims_adjudicated.claim_status_code as first_claim_status_code,
        claims_adjudicated.claim_charge_amount as first_claim_charge_amount,
        claims_adjudicated.claim_paid_amount as first_claim_paid_amount,
        coalesce(claims_adjudicated.is_denied, false) as is_denied,
        claims_adjudicated.denial_type,
        claims_adjudicated.denial_adjustment_amount,
        coalesce(claims_adjudicated.is_overturned, false) as is_overturned,
        claims_adjudicated.overturned_amount,
        coalesce(claims_net_paid.remittance_count, 0) as remittance_count,
        coalesce(claims_net_paid.reversal_count, 0) as reversal_count,
        claims_net_paid.first_remittance_date,
        claims_net_paid.last_remittance_date,
        claims_net_paid.net_paid_amount
    from claim_ids
    left join claims_billed
        on claim_ids.claim_id = claims_billed.claim_id
    left join claims_adjudicated
        on claim_ids.claim_id = claims_adjudicated.claim_id
    left join claims_net_paid
        on claim_ids.claim_id = claims_net_paid.claim_id
    left join encounters
        on coalesce(claims_billed.encounter_id, claims_adjudicated.encounter_id)
        = encounters.encounter_id

)

select * from final
