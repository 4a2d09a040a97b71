-- One row per charge line with its share of the claim's net paid amount (CLP04 over all
-- remittances, reversals included), in proportion to charge_amount.
-- Each share is net_paid x charge_amount / claim charges, computed exactly in cents and
-- rounded half away from zero; the rounding residual goes to the claim's line with the
-- largest charge_amount (ties: smallest charge_id), so a claim's lines add up to its net
-- paid to the cent (same convention as the generator's truth, rcm/generate/truth.py).
-- A claim whose lines sum to 0 puts its whole net paid on that line. Lines of claims not
-- remitted yet get null.
--
-- Incremental (delete+insert on charge_id; see dbt/README.md): a claim's shares depend on
-- all its lines and its net paid, so a night allocates every line of each claim that gained
-- lines (new loads) or whose net paid differs from the one its lines were built with
-- (a new remittance, a reversal, a first one); lines of other claims keep their rows.
{{ config(
    materialized='incremental',
    unique_key='charge_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

-- The all_* CTEs are `not materialized`: read more than once, DuckDB would copy the whole
-- table into each (dbt/README.md, "Import CTEs read twice").
with all_charges as not materialized (

    select * from {{ ref('stg_ehr__charges') }}

),

claims_net_paid as (

    select * from {{ ref('int_claims_net_paid') }}

),

{% if is_incremental() -%}
new_charges as (

    select
        all_charges.charge_id,
        all_charges.claim_id
    from all_charges
    where {{ is_new_load('all_charges.load_id', [ref('stg_ehr__charges')]) }}

),

claims_to_build as (

    select new_charges.claim_id
    from new_charges
    where new_charges.claim_id is not null

    union

    select built_claims.claim_id
    from (
        select distinct
            claim_id,
            claim_net_paid_amount
        from {{ this }}
        where claim_id is not null
    ) as built_claims
    left join claims_net_paid
        on built_claims.claim_id = claims_net_paid.claim_id
    where built_claims.claim_net_paid_amount is distinct from claims_net_paid.net_paid_amount

),

charges as (

    select *
    from all_charges
    where all_charges.charge_id in (select new_charges.charge_id from new_charges)
        or all_charges.claim_id in (select claims_to_build.claim_id from claims_to_build)

),
{%- else -%}
charges as (

    select * from all_charges

),
{%- endif %}

claim_lines as (

    select
        charges.charge_id,
        charges.claim_id,
        charges.charge_amount,
        claims_net_paid.net_paid_amount,
        cast(claims_net_paid.net_paid_amount * 100 as {{ wide_integer_type() }})
        * cast(charges.charge_amount * 100 as {{ wide_integer_type() }}) as share_numerator,
        cast(
            sum(charges.charge_amount) over (partition by charges.claim_id) * 100
            as {{ wide_integer_type() }}
        ) as claim_charge_cents,
        row_number() over (
            partition by charges.claim_id
            order by charges.charge_amount desc, charges.charge_id asc
        ) as residual_rank
    from charges
    inner join claims_net_paid
        on charges.claim_id = claims_net_paid.claim_id

),

rounded_shares as (

    select
        *,
        case
            when claim_charge_cents = 0 then 0
            else sign(share_numerator) * sign(claim_charge_cents) * {{ integer_divide(
                'abs(share_numerator) * 2 + abs(claim_charge_cents)',
                'abs(claim_charge_cents) * 2'
            ) }}
        end as share_cents
    from claim_lines

),

residuals as (

    select
        *,
        cast(net_paid_amount * 100 as {{ wide_integer_type() }})
        - sum(share_cents) over (partition by claim_id) as residual_cents
    from rounded_shares

),

allocated as (

    select
        charge_id,
        claim_id,
        net_paid_amount as claim_net_paid_amount,
        share_cents
        + case
            when residual_rank = 1 then residual_cents
            else 0
        end as allocated_payment_cents
    from residuals

),

charges_with_payments as (

    select
        charges.charge_id,
        charges.claim_id,
        allocated.claim_net_paid_amount,
        {{ money('cast(allocated.allocated_payment_cents as decimal(18, 0)) * 0.01') }}
            as allocated_payment_amount,
        charges.load_id,
        {{ next_build_number() }} as build_number
    from charges
    left join allocated
        on charges.charge_id = allocated.charge_id

)

select * from charges_with_payments
