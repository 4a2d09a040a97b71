{#-
    Generic test for X12 835 balancing (implementation guide 1.10.2): on each row of `model`,
    `charge_column` - (sum of `adjustment_column` over the rows of `adjustments_model`
    matched on `key_column`) = `paid_column`. Used for service lines (line charge - line
    adjustments = line paid) and claims (claim charge - claim and line adjustments = claim
    paid). Fails on each unbalanced row.

        data_tests:
          - remittance_balances:
              arguments:
                key_column: era_service_line_id
                charge_column: line_charge_amount
                paid_column: line_paid_amount
                adjustments_model: ref('stg_era__line_adjustments')
                adjustment_column: adjustment_amount
-#}
{% test remittance_balances(
    model,
    key_column,
    charge_column,
    paid_column,
    adjustments_model,
    adjustment_column='adjustment_amount',
    adjustments_key_column=none,
    where=none,
    tolerance=0
) %}
{%- set adjustments_key = adjustments_key_column or key_column -%}

with model_rows as (

    select * from {{ model }}

),

adjustment_totals as (
    select
        {{ adjustments_key }} as balance_key,
        sum({{ adjustment_column }}) as adjustment_total
    from {{ adjustments_model }}
    group by {{ adjustments_key }}
),

checked as (
    select
        model_rows.{{ key_column }} as balance_key,
        model_rows.{{ charge_column }} as charge_total,
        coalesce(adjustment_totals.adjustment_total, 0) as adjustment_total,
        model_rows.{{ paid_column }} as paid_total
    from model_rows
    left join adjustment_totals
        on model_rows.{{ key_column }} = adjustment_totals.balance_key
    {% if where %}where {{ where }}{% endif %}
)

select *
from checked
where abs(charge_total - adjustment_total - paid_total) > {{ tolerance }}

{% endtest %}
