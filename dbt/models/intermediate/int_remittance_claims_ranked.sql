-- One row per remittance claim (CLP) with its payment context (payer, remittance date),
-- the billed claim it answers (facility; null when no charge line carries the claim_id),
-- and its rank among the claim's adjudications. The first adjudication is the earliest
-- remittance whose CLP02 is in var('adjudication_status_codes'); reversals
-- (var('reversal_status_codes')) and later remittances are not. Remittances on the same
-- date are ordered by file name, then position in the file.

with remittance_claims as (

    select * from {{ ref('stg_era__claims') }}

),

payments as (

    select * from {{ ref('stg_era__payments') }}

),

claims_billed as (

    select * from {{ ref('int_claims_billed') }}

),

joined as (

    select
        remittance_claims.era_claim_id,
        remittance_claims.claim_id,
        remittance_claims.era_payment_id,
        remittance_claims.segment_position,
        payments.remittance_date,
        {{ month_start('payments.remittance_date') }} as remittance_month,
        payments.payer_id,
        payments.trace_number,
        payments.source_file,
        claims_billed.encounter_id,
        claims_billed.facility_id,
        claims_billed.claim_id is not null as has_charge_lines,
        remittance_claims.claim_status_code,
        remittance_claims.claim_charge_amount,
        remittance_claims.claim_paid_amount,
        remittance_claims.patient_responsibility_amount,
        remittance_claims.payer_claim_control_number,
        remittance_claims.claim_status_code
        in {{ text_list(var('adjudication_status_codes')) }} as is_adjudication,
        remittance_claims.claim_status_code
        in {{ text_list(var('reversal_status_codes')) }} as is_reversal
    from remittance_claims
    left join payments
        on remittance_claims.era_payment_id = payments.era_payment_id
    left join claims_billed
        on remittance_claims.claim_id = claims_billed.claim_id

),

ranked as (

    select
        *,
        row_number() over (
            partition by claim_id
            order by remittance_date, source_file, segment_position, era_claim_id
        ) as remittance_number,
        case
            when is_adjudication then row_number() over (
                    partition by claim_id, is_adjudication
                    order by remittance_date, source_file, segment_position, era_claim_id
                )
        end as adjudication_number
    from joined

),

final as (

    select
        *,
        coalesce(adjudication_number = 1, false) as is_first_adjudication
    from ranked

)

select * from final
