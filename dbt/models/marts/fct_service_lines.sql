-- Grain: one row per 835 service line (SVC) on one remittance claim, with its claim and
-- payment context and its adjustment totals by group code.
--
-- Incremental (delete+insert on era_service_line_id; see dbt/README.md): a night builds the
-- lines of new loads, and rebuilds those of every claim whose context changed or that was
-- built with another version of the carc_categories seed (stale_remittance_claims), so the
-- table always equals a full build.
{{ config(
    materialized='incremental',
    unique_key='era_service_line_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with all_service_lines as (

    select * from {{ ref('stg_era__service_lines') }}

),

remittance_claims as (

    select * from {{ ref('int_remittance_claims_ranked') }}

),

adjustments as (

    select * from {{ ref('int_adjustments_categorized') }}

),

{{ remittance_rows_to_build(
    'service_lines', 'all_service_lines', 'remittance_claims', [ref('stg_era__service_lines')]
) }}

line_adjustment_totals as (

    select
        era_service_line_id,
        sum(adjustment_amount) as adjustment_amount,
        sum(
            case when group_code = 'CO' then adjustment_amount else 0 end
        ) as contractual_adjustment_amount,
        sum(
            case when group_code = 'PR' then adjustment_amount else 0 end
        ) as patient_responsibility_amount,
        sum(case when is_denial then adjustment_amount else 0 end) as denial_adjustment_amount,
        count(*) as adjustment_count
    from adjustments
    where adjustment_level = 'line'
        and adjustments.era_claim_id in (select service_lines.era_claim_id from service_lines)
    group by era_service_line_id

),

final as (

    select
        service_lines.era_service_line_id,
        service_lines.era_claim_id,
        remittance_claims.claim_id,
        remittance_claims.era_payment_id,
        remittance_claims.remittance_date,
        remittance_claims.remittance_month,
        remittance_claims.payer_id,
        remittance_claims.facility_id,
        remittance_claims.claim_status_code,
        remittance_claims.is_first_adjudication,
        remittance_claims.is_reversal,
        service_lines.procedure_qualifier,
        service_lines.procedure_code,
        service_lines.modifier_1,
        service_lines.modifier_2,
        service_lines.modifier_3,
        service_lines.modifier_4,
        service_lines.original_procedure_code,
        service_lines.revenue_code,
        service_lines.units_paid,
        service_lines.service_date,
        service_lines.line_control_number,
        service_lines.line_charge_amount,
        service_lines.allowed_amount,
        service_lines.line_paid_amount,
        {{ money('coalesce(line_adjustment_totals.adjustment_amount, 0)') }}
            as line_adjustment_amount,
        {{ money('coalesce(line_adjustment_totals.contractual_adjustment_amount, 0)') }}
            as contractual_adjustment_amount,
        {{ money('coalesce(line_adjustment_totals.patient_responsibility_amount, 0)') }}
            as patient_responsibility_amount,
        {{ money('coalesce(line_adjustment_totals.denial_adjustment_amount, 0)') }}
            as denial_adjustment_amount,
        coalesce(line_adjustment_totals.denial_adjustment_amount, 0) <> 0 as is_denied,
        coalesce(line_adjustment_totals.adjustment_count, 0) as adjustment_count,
        service_lines.is_balanced,
        {{ carc_categories_version() }} as carc_categories_version,
        service_lines.load_id,
        {{ next_build_number() }} as build_number
    from service_lines
    left join remittance_claims
        on service_lines.era_claim_id = remittance_claims.era_claim_id
    left join line_adjustment_totals
        on service_lines.era_service_line_id = line_adjustment_totals.era_service_line_id

)

select * from final
