-- Allocation balance: for every remitted claim with charge lines, the payments allocated
-- to its lines add up to its net paid amount, to the cent.
-- Returns each claim that does not balance.

with allocated as (

    select
        claim_id,
        sum(allocated_payment_amount) as allocated_payment_amount
    from {{ ref('int_payments_allocated') }}
    group by claim_id

),

claims_billed as (

    select * from {{ ref('int_claims_billed') }}

),

claims_net_paid as (

    select * from {{ ref('int_claims_net_paid') }}

)

select
    claims_net_paid.claim_id,
    claims_net_paid.net_paid_amount,
    allocated.allocated_payment_amount
from claims_net_paid
inner join claims_billed
    on claims_net_paid.claim_id = claims_billed.claim_id
left join allocated
    on claims_net_paid.claim_id = allocated.claim_id
where allocated.allocated_payment_amount is distinct from claims_net_paid.net_paid_amount
