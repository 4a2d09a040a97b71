{#-
    Generic test: the combination of columns is unique (the model's grain). Nulls are treated
    as a value (two rows with a null facility_id and otherwise equal keys are duplicates).

        data_tests:
          - unique_combination_of_columns:
              arguments:
                combination_of_columns: [month, facility_id, payer_id]
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(',\n    ') }},
    count(*) as duplicate_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
