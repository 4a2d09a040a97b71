-- Grain: month (of first adjudication remittance) x facility_id x payer_id.
-- facility_id is null for remitted claims with no matching charge lines (kept, not dropped).
-- See _marts__models.yml and docs/metrics.md for each measure's definition.

with adjudicated_claims as (

    select * from {{ ref('int_claims_adjudicated') }}

),

monthly as (

    select
        remittance_month as month,
        facility_id,
        payer_id,
        count(*) as claims_remitted,
        sum(case when is_denied then 1 else 0 end) as claims_denied,
        sum(case when is_full_denial then 1 else 0 end) as claims_denied_full,
        sum(case when is_partial_denial then 1 else 0 end) as claims_denied_partial,
        sum(case when is_overturned then 1 else 0 end) as claims_overturned,
        sum(claim_charge_amount) as charges_remitted,
        sum(case when is_denied then claim_charge_amount else 0 end) as charges_denied,
        sum(
            case when is_denied then denial_adjustment_amount else 0 end
        ) as denial_adjustment_amount,
        sum(overturned_amount) as overturned_amount
    from adjudicated_claims
    group by remittance_month, facility_id, payer_id

),

prior_months as (

    -- the var('hfma_average_months') months before each row's month, same facility x payer
    select
        monthly.month,
        monthly.facility_id,
        monthly.payer_id,
        sum(earlier.claims_remitted) as prior_claims_remitted,
        sum(earlier.claims_denied) as prior_claims_denied
    from monthly
    inner join monthly as earlier
        on monthly.facility_id is not distinct from earlier.facility_id
        and monthly.payer_id is not distinct from earlier.payer_id
        and monthly.month > earlier.month
        and {{ dbt.dateadd('month', -var('hfma_average_months'), 'monthly.month') }}
        <= earlier.month
    group by monthly.month, monthly.facility_id, monthly.payer_id

),

final as (

    select
        monthly.month,
        monthly.facility_id,
        monthly.payer_id,
        cast(monthly.claims_remitted as {{ dbt.type_bigint() }}) as claims_remitted,
        cast(monthly.claims_denied as {{ dbt.type_bigint() }}) as claims_denied,
        {{ safe_ratio('monthly.claims_denied', 'monthly.claims_remitted') }} as initial_denial_rate,
        {{ money('monthly.charges_remitted') }} as charges_remitted,
        {{ money('monthly.charges_denied') }} as charges_denied,
        {{ safe_ratio('monthly.charges_denied', 'monthly.charges_remitted') }}
            as denial_rate_dollars,
        cast(monthly.claims_denied_full as {{ dbt.type_bigint() }}) as claims_denied_full,
        cast(monthly.claims_denied_partial as {{ dbt.type_bigint() }}) as claims_denied_partial,
        {{ money('monthly.denial_adjustment_amount') }} as denial_adjustment_amount,
        cast(monthly.claims_overturned as {{ dbt.type_bigint() }}) as claims_overturned,
        {{ safe_ratio('monthly.claims_overturned', 'monthly.claims_denied') }} as overturn_rate,
        {{ money('monthly.overturned_amount') }} as overturned_amount,
        cast(coalesce(prior_months.prior_claims_remitted, 0) as {{ dbt.type_bigint() }})
            as claims_remitted_prior_3m,
        cast(coalesce(prior_months.prior_claims_denied, 0) as {{ dbt.type_bigint() }})
            as claims_denied_prior_3m,
        {{ safe_ratio('prior_months.prior_claims_denied', 'prior_months.prior_claims_remitted') }}
            as initial_denial_rate_hfma_3m
    from monthly
    left join prior_months
        on monthly.month = prior_months.month
        and monthly.facility_id is not distinct from prior_months.facility_id
        and monthly.payer_id is not distinct from prior_months.payer_id

)

select * from final
