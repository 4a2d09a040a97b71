-- 835 transaction balance: sum of CLP04 - sum of PLB amounts = BPR02 (BPR02 negated when
-- BPR03 = 'D'). Returns each unbalanced payment. Severity follows var era_balance_severity.
{{ config(severity=var('era_balance_severity', 'error')) }}

with payments as (

    select * from {{ ref('stg_era__payments') }}

),

claims as (

    select * from {{ ref('stg_era__claims') }}

),

provider_adjustments as (

    select * from {{ ref('stg_era__provider_adjustments') }}

),

claim_totals as (

    select
        era_payment_id,
        sum(claim_paid_amount) as claim_paid_amount
    from claims
    group by era_payment_id

),

provider_adjustment_totals as (

    select
        era_payment_id,
        sum(adjustment_amount) as provider_adjustment_amount
    from provider_adjustments
    group by era_payment_id

),

checked as (

    select
        payments.era_payment_id,
        payments.is_balanced,
        payments.total_payment_amount
        * case when payments.credit_debit_flag = 'D' then -1 else 1 end as payment_amount,
        coalesce(claim_totals.claim_paid_amount, 0) as claim_paid_amount,
        coalesce(provider_adjustment_totals.provider_adjustment_amount, 0)
            as provider_adjustment_amount
    from payments
    left join claim_totals
        on payments.era_payment_id = claim_totals.era_payment_id
    left join provider_adjustment_totals
        on payments.era_payment_id = provider_adjustment_totals.era_payment_id

)

select *
from checked
where claim_paid_amount - provider_adjustment_amount <> payment_amount
    and is_balanced is not false
