-- One row per claim_id sent on charge lines: the encounter, facility and billed charges.
-- A claim's facility is the facility of its lines (the smallest id if lines disagree).

with charges as (

    select * from {{ ref('stg_ehr__charges') }}

),

claims as (

    select
        claim_id,
        min(encounter_id) as encounter_id,
        min(facility_id) as facility_id,
        count(distinct facility_id) as facility_count,
        count(*) as charge_lines,
        {{ money('sum(charge_amount)') }} as billed_charge_amount,
        min(service_date) as first_service_date,
        max(service_date) as last_service_date
    from charges
    where claim_id is not null
    group by claim_id

)

select * from claims
