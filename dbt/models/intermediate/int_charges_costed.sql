-- One row per charge line with its cost: cost_amount when the costing system gives it,
-- else charge_amount x the cost-to-charge ratio of the line's facility and revenue-code
-- family (seed cost_to_charge_ratios, family from the first 3 digits of the revenue code
-- via seed revenue_code_families), falling back to the facility's hospital-wide ratio
-- (family var('hospital_wide_family')). Cost stays null when no ratio is known.
--
-- Incremental (delete+insert on charge_id; see dbt/README.md): a line's cost depends only on
-- the line and the cost inputs, and charge lines are append-only, so a night costs the lines
-- of new loads; after an edit of the seeds or the var (charge_costing_version differs) it
-- costs every line again.
{{ config(
    materialized='incremental',
    unique_key='charge_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with charges as (

    select * from {{ ref('stg_ehr__charges') }}
    where {{ is_new_load('load_id', [ref('stg_ehr__charges')]) }}
        or {{ any_row_of_other_version('charge_costing_version', charge_costing_version()) }}

),

revenue_code_families as (

    select * from {{ ref('revenue_code_families') }}

),

cost_to_charge_ratios as (

    select * from {{ ref('cost_to_charge_ratios') }}

),

with_family as (

    select
        charges.*,
        revenue_code_families.revenue_code_family
    from charges
    left join revenue_code_families
        on substr(charges.revenue_code, 1, 3) = revenue_code_families.revenue_code_prefix

),

with_ratio as (

    select
        with_family.*,
        family_ratios.cost_to_charge_ratio as family_cost_to_charge_ratio,
        hospital_ratios.cost_to_charge_ratio as hospital_cost_to_charge_ratio
    from with_family
    left join cost_to_charge_ratios as family_ratios
        on with_family.facility_id = family_ratios.facility_id
        and with_family.revenue_code_family = family_ratios.revenue_code_family
    left join cost_to_charge_ratios as hospital_ratios
        on with_family.facility_id = hospital_ratios.facility_id
        and hospital_ratios.revenue_code_family = '{{ var("hospital_wide_family") }}'

),

final as (

    select
        charge_id,
        encounter_id,
        claim_id,
        facility_id,
        department_id,
        service_date,
        {{ month_start('service_date') }} as service_month,
        revenue_code,
        revenue_code_family,
        cost_category,
        charge_amount,
        cost_amount as direct_cost_amount,
        case
            when cost_amount is not null then null
            else coalesce(family_cost_to_charge_ratio, hospital_cost_to_charge_ratio)
        end as applied_cost_to_charge_ratio,
        case
            when cost_amount is not null then 'direct'
            when family_cost_to_charge_ratio is not null then 'ccr_revenue_code_family'
            when hospital_cost_to_charge_ratio is not null then 'ccr_hospital_wide'
        end as cost_method,
        {{ money(
            'coalesce(cost_amount, charge_amount * coalesce('
            ~ 'family_cost_to_charge_ratio, hospital_cost_to_charge_ratio))'
        ) }} as cost_amount,
        {{ charge_costing_version() }} as charge_costing_version,
        load_id,
        {{ next_build_number() }} as build_number
    from with_ratio

)

select * from final
