-- Grain: month (of service_date) x facility_id x department_id of the charge lines (credits
-- included, like documentation_gaps), over lines with a service and a posted date.
-- charge lag = posted_date - service_date; late = posted after the bill-hold window (the
-- late_charge rule of documentation_gaps, in int_charges_lagged). See docs/metrics.md.

with lagged_charges as (

    select * from {{ ref('int_charges_lagged') }}

),

dated_lines as (

    select *
    from lagged_charges
    where service_date is not null
        and posted_date is not null

),

aggregated as (

    select
        service_month as month,
        facility_id,
        department_id,
        count(*) as charge_lines,
        sum(charge_lag_days) as charge_lag_days_total,
        {{ percentile_disc('charge_lag_days', 0.9) }} as p90_charge_lag_days,
        max(charge_lag_days) as max_charge_lag_days,
        sum(case when is_late then 1 else 0 end) as charge_lines_late,
        sum(charge_amount) as charges,
        sum(case when is_late then charge_amount else 0 end) as late_charge_amount
    from dated_lines
    group by service_month, facility_id, department_id

),

final as (

    select
        month,
        facility_id,
        department_id,
        cast(charge_lines as {{ dbt.type_bigint() }}) as charge_lines,
        cast(charge_lag_days_total as {{ dbt.type_bigint() }}) as charge_lag_days_total,
        {{ safe_ratio('charge_lag_days_total', 'charge_lines') }} as avg_charge_lag_days,
        cast(p90_charge_lag_days as {{ dbt.type_bigint() }}) as p90_charge_lag_days,
        cast(max_charge_lag_days as {{ dbt.type_bigint() }}) as max_charge_lag_days,
        cast(charge_lines_late as {{ dbt.type_bigint() }}) as charge_lines_late,
        {{ safe_ratio('charge_lines_late', 'charge_lines') }} as late_charge_rate,
        {{ money('charges') }} as charges,
        {{ money('late_charge_amount') }} as late_charge_amount
    from aggregated

)

select * from final
