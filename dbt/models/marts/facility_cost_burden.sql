-- Grain: month (of service_date) x facility_id x department_id x cost_category, over
-- charge lines. See _marts__models.yml and docs/metrics.md for each measure.

with costed_charges as (

    select * from {{ ref('int_charges_costed') }}

),

allocated_payments as (

    select * from {{ ref('int_payments_allocated') }}

),

charge_lines as (

    select
        costed_charges.*,
        allocated_payments.allocated_payment_amount
    from costed_charges
    left join allocated_payments
        on costed_charges.charge_id = allocated_payments.charge_id

),

aggregated as (

    select
        service_month as month,
        facility_id,
        department_id,
        cost_category,
        count(distinct encounter_id) as encounters,
        count(*) as charge_lines,
        sum(charge_amount) as charges,
        sum(cost_amount) as cost,
        sum(case when cost_amount is null then 1 else 0 end) as charge_lines_uncosted,
        coalesce(sum(allocated_payment_amount), 0) as payments
    from charge_lines
    group by service_month, facility_id, department_id, cost_category

),

final as (

    select
        month,
        facility_id,
        department_id,
        cost_category,
        cast(encounters as {{ dbt.type_bigint() }}) as encounters,
        cast(charge_lines as {{ dbt.type_bigint() }}) as charge_lines,
        {{ money('charges') }} as charges,
        {{ money('cost') }} as cost,
        {{ money('payments') }} as payments,
        {{ safe_ratio('cost', 'charges') }} as cost_to_charge_ratio,
        {{ safe_ratio('cost', 'payments') }} as cost_to_payment_ratio,
        {{ money('payments - cost') }} as margin,
        cast(charge_lines_uncosted as {{ dbt.type_bigint() }}) as charge_lines_uncosted
    from aggregated

)

select * from final
