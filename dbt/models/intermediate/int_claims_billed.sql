-- One row per claim_id sent on charge lines: the encounter, facility and billed charges.
-- A claim's facility is the facility of its lines (the smallest id if lines disagree).
--
-- Incremental (delete+insert on claim_id; see dbt/README.md): a night aggregates again
-- every line of each claim that gained lines in stg_ehr__charges since this table read it
-- (column charges_build). Charge lines are append-only, so a claim's row changes only when
-- it gains lines, and each rebuilt claim has a row.
{{ config(
    materialized='incremental',
    unique_key='claim_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

-- read more than once on an incremental run: not materialized (dbt/README.md, "Import
-- CTEs read twice")
with all_charges as not materialized (

    select * from {{ ref('stg_ehr__charges') }}

),

{% if is_incremental() -%}
claims_with_new_lines as (

    select distinct new_charges.claim_id
    from all_charges as new_charges
    where {{ built_since_consumed('new_charges', ref('stg_ehr__charges'), 'charges_build') }}

),
{%- endif %}

{{ rows_of_keys([('charges', 'all_charges')], 'claim_id', 'claims_with_new_lines') }}

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

select
    claims.*,
    {{ consumed_build(ref('stg_ehr__charges')) }} as charges_build,
    {{ next_build_number() }} as build_number
from claims
