-- One row per CAS triplet, claim level and line level together, with its remittance
-- context and its CARC category from the seed carc_categories. A seed row for the exact
-- group code wins over the wildcard group '*'; a CARC absent from the seed is
-- 'uncategorized' and not a denial.
--
-- Incremental (delete+insert on adjustment_id; see dbt/README.md), as the remittance facts:
-- a night builds the triplets of new loads, and rebuilds those of every claim whose context
-- changed or that was built with another version of the carc_categories seed
-- (stale_remittance_claims), so the table always equals a full build.
{{ config(
    materialized='incremental',
    unique_key='adjustment_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with claim_adjustments as (

    select * from {{ ref('stg_era__claim_adjustments') }}

),

line_adjustments as (

    select * from {{ ref('stg_era__line_adjustments') }}

),

remittance_claims as (

    select * from {{ ref('int_remittance_claims_ranked') }}

),

carc_categories as (

    select * from {{ ref('carc_categories') }}

),

all_adjustments as (

    select
        adjustment_id,
        'claim' as adjustment_level,
        era_claim_id,
        cast(null as {{ dbt.type_string() }}) as era_service_line_id,
        group_code,
        carc_code,
        adjustment_amount,
        adjustment_quantity,
        load_id
    from claim_adjustments

    union all

    select
        adjustment_id,
        'line' as adjustment_level,
        era_claim_id,
        era_service_line_id,
        group_code,
        carc_code,
        adjustment_amount,
        adjustment_quantity,
        load_id
    from line_adjustments

),

{{ remittance_rows_to_build(
    'unioned', 'all_adjustments', 'remittance_claims',
    [ref('stg_era__claim_adjustments'), ref('stg_era__line_adjustments')]
) }}

categorized as (

    select
        unioned.*,
        coalesce(exact_group.denial_category, any_group.denial_category, 'uncategorized')
            as denial_category,
        coalesce(exact_group.is_denial, any_group.is_denial, false) as is_denial
    from unioned
    left join carc_categories as exact_group
        on unioned.group_code = exact_group.group_code
        and unioned.carc_code = exact_group.carc_code
    left join carc_categories as any_group
        on any_group.group_code = '*'
        and unioned.carc_code = any_group.carc_code

),

final as (

    select
        categorized.*,
        remittance_claims.claim_id,
        remittance_claims.era_payment_id,
        remittance_claims.remittance_date,
        remittance_claims.remittance_month,
        remittance_claims.payer_id,
        remittance_claims.facility_id,
        remittance_claims.claim_status_code,
        remittance_claims.is_first_adjudication,
        remittance_claims.is_reversal,
        {{ carc_categories_version() }} as carc_categories_version,
        {{ next_build_number() }} as build_number
    from categorized
    left join remittance_claims
        on categorized.era_claim_id = remittance_claims.era_claim_id

)

select * from final
