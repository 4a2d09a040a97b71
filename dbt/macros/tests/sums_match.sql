{#-
    Generic balance test: the sum of `column_name` in this model equals the sum of
    `compare_column` in `compare_model`, overall or per `group_by` key (keys compared with
    null-safe equality), within `tolerance` (default 0: money is exact decimal).
    Fails on each key whose two sums differ (a key missing on one side has sum 0 there).

        columns:
          - name: payments
            data_tests:
              - sums_match:
                  arguments:
                    compare_model: ref('int_claims_net_paid')
                    compare_column: net_paid_amount
                    group_by: [claim_id]            # optional
                    compare_group_by: [claim_id]    # optional, defaults to group_by
                    where: "..."                    # optional filter on this model
                    compare_where: "..."            # optional filter on compare_model
-#}
{% test sums_match(
    model,
    column_name,
    compare_model,
    compare_column,
    group_by=[],
    compare_group_by=none,
    where=none,
    compare_where=none,
    tolerance=0
) %}
{%- set compare_keys = compare_group_by if compare_group_by is not none else group_by -%}

with this_side as (
    select
        {% for key in group_by -%}
        {{ key }} as key_{{ loop.index }},
        {% endfor -%}
        coalesce(sum({{ column_name }}), 0) as this_total
    from {{ model }}
    {% if where %}where {{ where }}{% endif %}
    {% if group_by %}group by {% for key in group_by %}{{ key }}{{ ", " if not loop.last }}{% endfor %}{% endif %}
),

other_side as (
    select
        {% for key in compare_keys -%}
        {{ key }} as key_{{ loop.index }},
        {% endfor -%}
        coalesce(sum({{ compare_column }}), 0) as other_total
    from {{ compare_model }}
    {% if compare_where %}where {{ compare_where }}{% endif %}
    {% if compare_keys %}group by {% for key in compare_keys %}{{ key }}{{ ", " if not loop.last }}{% endfor %}{% endif %}
),

compared as (
    select
        {% for key in group_by -%}
        coalesce(this_side.key_{{ loop.index }}, other_side.key_{{ loop.index }}) as key_{{ loop.index }},
        {% endfor -%}
        coalesce(this_side.this_total, 0) as this_total,
        coalesce(other_side.other_total, 0) as other_total
    from this_side
    full outer join other_side
        on {% if group_by -%}
        {% for key in group_by -%}
        this_side.key_{{ loop.index }} is not distinct from other_side.key_{{ loop.index }}
        {{ "and " if not loop.last }}
        {%- endfor %}
        {%- else %}true{% endif %}
)

select *
from compared
where abs(this_total - other_total) > {{ tolerance }}

{% endtest %}
