-- One row per claim_id remitted: net paid = CLP04 summed over every remittance of the
-- claim (reversals, status 22, carry the negative of the reversed payment).

with remittance_claims as (

    select * from {{ ref('int_remittance_claims_ranked') }}

),

net_paid as (

    select
        claim_id,
        count(*) as remittance_count,
        cast(
            sum(case when is_reversal then 1 else 0 end) as {{ dbt.type_bigint() }}
        ) as reversal_count,
        min(remittance_date) as first_remittance_date,
        max(remittance_date) as last_remittance_date,
        {{ money('sum(claim_paid_amount)') }} as net_paid_amount
    from remittance_claims
    group by claim_id

)

select * from net_paid
