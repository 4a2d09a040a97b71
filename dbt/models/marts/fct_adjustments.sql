-- Grain: one row per CAS reason/amount/quantity triplet (claim level or line level), with
-- its CARC category, denial flag and remittance context.
--
-- Incremental (delete+insert on adjustment_id; see dbt/README.md): a night builds the
-- triplets of new loads, and rebuilds those of every claim whose context changed or that
-- was built with another version of the carc_categories seed (stale_remittance_claims), so
-- the table always equals a full build.
{{ config(
    materialized='incremental',
    unique_key='adjustment_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with adjustments as (

    select * from {{ ref('int_adjustments_categorized') }}

),

remittance_claims as (

    select * from {{ ref('int_remittance_claims_ranked') }}

),

{{ remittance_rows_to_build(
    'to_build', 'adjustments', 'remittance_claims', [ref('int_adjustments_categorized')]
) }}

final as (

    select
        adjustment_id,
        adjustment_level,
        era_claim_id,
        era_service_line_id,
        claim_id,
        era_payment_id,
        remittance_date,
        remittance_month,
        payer_id,
        facility_id,
        claim_status_code,
        is_first_adjudication,
        is_reversal,
        group_code as carc_group,
        carc_code,
        denial_category,
        is_denial,
        adjustment_amount,
        adjustment_quantity,
        {{ carc_categories_version() }} as carc_categories_version,
        load_id,
        {{ next_build_number() }} as build_number
    from to_build

)

select * from final
