-- Grain: month (of discharge, else admit) x facility_id x department_id x gap_type.
-- See _marts__models.yml and docs/metrics.md for each gap type and measure.

with gaps as (

    select * from {{ ref('int_documentation_gaps_identified') }}

),

final as (

    select
        gap_month as month,
        facility_id,
        department_id,
        gap_type,
        cast(count(*) as {{ dbt.type_bigint() }}) as occurrences,
        cast(count(distinct encounter_id) as {{ dbt.type_bigint() }}) as encounters_affected,
        cast(sum(charge_lines) as {{ dbt.type_bigint() }}) as charge_lines,
        {{ money('sum(dollars_at_risk)') }} as dollars_at_risk,
        cast(sum(case when dollars_at_risk is null then 1 else 0 end) as {{ dbt.type_bigint() }})
            as occurrences_unpriced
    from gaps
    group by gap_month, facility_id, department_id, gap_type

)

select * from final
