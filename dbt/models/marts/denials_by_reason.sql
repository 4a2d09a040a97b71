-- Grain: month (of first adjudication remittance) x payer_id x carc_group x carc_code x
-- denial_category, over the denial adjustments (claim and line level) of first
-- adjudications. See _marts__models.yml and docs/metrics.md.

with adjustments as (

    select * from {{ ref('int_adjustments_categorized') }}

),

denial_adjustments as (

    select *
    from adjustments
    where is_first_adjudication
        and is_denial

),

final as (

    select
        remittance_month as month,
        payer_id,
        group_code as carc_group,
        carc_code,
        denial_category,
        cast(count(*) as {{ dbt.type_bigint() }}) as lines_denied,
        cast(count(distinct era_claim_id) as {{ dbt.type_bigint() }}) as claims_denied,
        {{ money('sum(adjustment_amount)') }} as dollars_denied
    from denial_adjustments
    group by remittance_month, payer_id, group_code, carc_code, denial_category

)

select * from final
