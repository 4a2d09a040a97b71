-- One row per charge line with its charge lag and its bill-hold judgement (domain.md Part A,
-- "late_charge"; docs/metrics.md, "Charge lag"):
--   charge_lag_days = posted_date - service_date (contracts.md: charge lag = posted - service);
--   bill_hold_reference_date = the encounter's discharge_date for inpatients, else the
--   line's service_date (also for a line whose encounter is not in the warehouse);
--   is_late = posted_date - bill_hold_reference_date > var('bill_hold_days') (false while an
--   inpatient is still admitted: no discharge date, nothing is late yet).
-- The encounter is its latest version.
--
-- Incremental (delete+insert on charge_id; see dbt/README.md): a night judges the lines of
-- new loads, and judges again every line whose stored encounter context (known or not,
-- encounter_type, discharge_date) differs from the encounter's latest version now, or whose
-- is_late no longer agrees with var('bill_hold_days'), so the table equals a full build.
{{ config(
    materialized='incremental',
    unique_key='charge_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with all_charges as (

    select * from {{ ref('stg_ehr__charges') }}

),

encounters as (

    select * from {{ ref('stg_ehr__encounters') }}

),

{% if is_incremental() -%}
stale_charges as (

    select built.charge_id
    from {{ this }} as built
    left join encounters
        on built.encounter_id = encounters.encounter_id
    where built.is_encounter_known is distinct from (encounters.encounter_id is not null)
        or built.encounter_type is distinct from encounters.encounter_type
        or built.discharge_date is distinct from encounters.discharge_date
        or built.is_late is distinct from coalesce(
            built.days_after_bill_hold_reference > {{ var('bill_hold_days') }}, false
        )

),

charges as (

    select *
    from all_charges
    where {{ is_new_load('all_charges.load_id', [ref('stg_ehr__charges')]) }}
        or all_charges.charge_id in (select stale_charges.charge_id from stale_charges)

),
{%- else -%}
charges as (

    select * from all_charges

),
{%- endif %}

with_reference as (

    select
        charges.charge_id,
        charges.encounter_id,
        charges.claim_id,
        charges.facility_id,
        charges.department_id,
        charges.service_date,
        charges.posted_date,
        charges.hcpcs_code,
        charges.charge_amount,
        encounters.encounter_id is not null as is_encounter_known,
        encounters.encounter_type,
        encounters.discharge_date,
        case
            when encounters.encounter_type = 'inpatient' then encounters.discharge_date
            else charges.service_date
        end as bill_hold_reference_date,
        charges.load_id
    from charges
    left join encounters
        on charges.encounter_id = encounters.encounter_id

),

final as (

    select
        *,
        {{ month_start('service_date') }} as service_month,
        {{ dbt.datediff('service_date', 'posted_date', 'day') }} as charge_lag_days,
        {{ dbt.datediff('bill_hold_reference_date', 'posted_date', 'day') }}
            as days_after_bill_hold_reference,
        coalesce(
            {{ dbt.datediff('bill_hold_reference_date', 'posted_date', 'day') }}
            > {{ var('bill_hold_days') }},
            false
        ) as is_late,
        {{ next_build_number() }} as build_number
    from with_reference

)

select * from final
