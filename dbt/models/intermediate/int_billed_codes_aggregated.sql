-- One row per encounter x code system x code billed on any of its charge lines:
-- ICD-10-CM codes from billed_dx_codes, CPT/HCPCS from hcpcs_code. A code counts as
-- billed (is_billed) when the lines carrying it sum to a positive charge, so a line fully
-- reversed by a credit is not billed. A code listed twice on one line counts once there.
--
-- Incremental (delete+insert on encounter_id; see dbt/README.md): a night aggregates again
-- every line of each encounter that gained lines in stg_ehr__charges since this table read
-- it (column charges_build). Charge lines are append-only (encounter_id required by the
-- loader), so an encounter's codes only grow and each rebuilt encounter has rows.
{{ config(
    materialized='incremental',
    unique_key='encounter_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

-- The all_* CTEs are `not materialized`: read more than once, DuckDB would copy the whole
-- table into each (dbt/README.md, "Import CTEs read twice").
with all_charges as not materialized (

    select * from {{ ref('stg_ehr__charges') }}

),

{% if is_incremental() -%}
encounters_with_new_lines as (

    select distinct new_charges.encounter_id
    from all_charges as new_charges
    where {{ built_since_consumed('new_charges', ref('stg_ehr__charges'), 'charges_build') }}

),
{%- endif %}

{{ rows_of_keys([('charges', 'all_charges')], 'encounter_id', 'encounters_with_new_lines') }}

line_dx_codes as (

    select distinct
        charge_dx_codes.charge_id,
        charge_dx_codes.encounter_id,
        charge_dx_codes.service_date,
        charge_dx_codes.charge_amount,
        'icd10cm' as code_system,
        charge_dx_codes.code
    from {{ unnest_list('charges', 'billed_dx_codes', 'code', 'code_position') }}
        as charge_dx_codes

),

line_px_codes as (

    select
        charge_id,
        encounter_id,
        service_date,
        charge_amount,
        'hcpcs' as code_system,
        hcpcs_code as code
    from charges
    where hcpcs_code is not null

),

line_codes as (

    select * from line_dx_codes
    union all
    select * from line_px_codes

),

aggregated as (

    select
        encounter_id,
        code_system,
        code,
        count(*) as charge_lines,
        min(service_date) as first_service_date,
        {{ money('sum(charge_amount)') }} as net_charge_amount,
        sum(charge_amount) > 0 as is_billed
    from line_codes
    where code is not null
    group by encounter_id, code_system, code

)

select
    aggregated.*,
    {{ consumed_build(ref('stg_ehr__charges')) }} as charges_build,
    {{ next_build_number() }} as build_number
from aggregated
