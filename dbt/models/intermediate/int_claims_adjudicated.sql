-- One row per claim_id with a first adjudication: what the payer decided the first time
-- (charge CLP03, paid CLP04, denial) and what happened after (net paid, overturn).
-- Denied = any claim- or line-level adjustment on the first-adjudication remittance
-- carries a denial CARC; full when CLP04 = 0, partial otherwise. Overturned = denied and
-- the net paid over all remittances ends above the first-adjudication payment.

with remittance_claims as (

    select * from {{ ref('int_remittance_claims_ranked') }}

),

adjustments as (

    select * from {{ ref('int_adjustments_categorized') }}

),

claims_net_paid as (

    select * from {{ ref('int_claims_net_paid') }}

),

first_adjudications as (

    select *
    from remittance_claims
    where is_first_adjudication

),

denial_adjustments as (

    select
        era_claim_id,
        count(*) as denial_adjustment_count,
        sum(adjustment_amount) as denial_adjustment_amount
    from adjustments
    where is_denial
    group by era_claim_id

),

joined as (

    select
        first_adjudications.claim_id,
        first_adjudications.era_claim_id,
        first_adjudications.encounter_id,
        first_adjudications.facility_id,
        first_adjudications.payer_id,
        first_adjudications.remittance_date as first_remittance_date,
        first_adjudications.remittance_month,
        first_adjudications.claim_status_code,
        first_adjudications.claim_charge_amount,
        first_adjudications.claim_paid_amount,
        coalesce(denial_adjustments.denial_adjustment_count, 0) > 0 as is_denied,
        coalesce(denial_adjustments.denial_adjustment_count, 0) as denial_adjustment_count,
        {{ money('coalesce(denial_adjustments.denial_adjustment_amount, 0)') }}
            as denial_adjustment_amount,
        claims_net_paid.net_paid_amount,
        claims_net_paid.remittance_count
    from first_adjudications
    left join denial_adjustments
        on first_adjudications.era_claim_id = denial_adjustments.era_claim_id
    left join claims_net_paid
        on first_adjudications.claim_id = claims_net_paid.claim_id

),

final as (

    select
        *,
        case
            when is_denied and claim_paid_amount = 0 then 'full'
            when is_denied then 'partial'
        end as denial_type,
        is_denied and claim_paid_amount = 0 as is_full_denial,
        is_denied and claim_paid_amount <> 0 as is_partial_denial,
        is_denied and net_paid_amount > claim_paid_amount as is_overturned,
        case
            when is_denied and net_paid_amount > claim_paid_amount
                then {{ money('net_paid_amount - claim_paid_amount') }}
            else {{ money('0') }}
        end as overturned_amount
    from joined

)

select * from final
