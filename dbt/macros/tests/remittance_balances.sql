{#-
    Generic test for X12 835 balancing (implementation guide 1.10.2): on each row of `model`,
    `charge_column` - (sum of `adjustment_column` over the rows of `adjustments_model`
    matched on `key_column`) = `paid_column`. Used for service lines (line charge - line
    adjustments = line paid) and claims (claim charge - claim and line adjustments = claim
    paid). Fails on each unbalanced row.

    `row_filter`: a condition on the rows checked (alias model_rows). Not dbt's `where`
    config, which would hand the test a subquery instead of the model's relation.

    `latest_build_only`: check only the rows the latest build of `model` wrote (column
    build_number, macros/tests/latest_build.sql), when the test's severity is error. Exact
    for the 835 staging tables: lines and claims are append-only and their adjustments
    arrive in the same file, so a row's balance is fixed when it is written and every
    earlier build passed the test. With severity warn the whole table is read every night
    (a warned row stays reported), as with var data_tests_whole_tables.

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
    row_filter=none,
    tolerance=0,
    latest_build_only=false
) %}
{%- set adjustments_key = adjustments_key_column or key_column -%}
{%- set scoped = latest_build_only
    and (config.get('severity') or 'error') | lower == 'error'
    and not latest_build_is_whole_table(model) -%}

with model_rows as (

    select *
    from {% if scoped %}{{ latest_build_rows(model) }} as latest_build{% else %}{{ model }}{% endif %}

),

adjustment_totals as (
    select
        {{ adjustments_key }} as balance_key,
        sum({{ adjustment_column }}) as adjustment_total
    from {{ adjustments_model }}
    {%- if scoped %}
    where {{ adjustments_key }} in (select model_rows.{{ key_column }} from model_rows)
    {%- endif %}
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
    {% if row_filter %}where {{ row_filter }}{% endif %}
)

select *
from checked
where abs(charge_total - adjustment_total - paid_total) > {{ tolerance }}

{% endtest %}
