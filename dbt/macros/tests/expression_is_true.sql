{#-
    Generic test: every row satisfies a boolean SQL expression; fails on the rows where it
    is false. A null result passes (as in dbt_utils), so rates that are null because their
    denominator is 0 pass "between 0 and 1". Usable on a model, or on a column (then the
    expression is appended to the column name).

        data_tests:
          - expression_is_true:
              arguments:
                expression: "claims_denied <= claims_remitted"
              config:
                where: "month >= '2026-01-01'"   # optional, dbt's standard where config
-#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not (
    {%- if column_name is none %} {{ expression }} {%- else %} {{ column_name }} {{ expression }} {%- endif %}
)

{% endtest %}
