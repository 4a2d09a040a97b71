{#-
    Generic test: the model exposes no column whose name contains one of the PHI name
    patterns in var('phi_column_patterns') (case-insensitive substrings such as mrn,
    patient_name, member_id, birth). Fails with one row per offending column. The column
    list is read from the built relation (adapter.get_columns_in_relation), so the test is
    the same on any adapter. Analysts identify patients by the pseudonymous patient_key.

        data_tests:
          - no_phi_columns
-#}
{% test no_phi_columns(model, patterns=none) %}
{%- set patterns = patterns if patterns is not none else var('phi_column_patterns') -%}
{%- set offending = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(model) -%}
        {%- set name = column.name | lower -%}
        {%- for pattern in patterns if pattern | lower in name and column.name not in offending -%}
            {%- do offending.append(column.name) -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endif -%}

{%- if offending %}
{%- for name in offending %}
select '{{ name }}' as phi_column
{% if not loop.last %}union all
{% endif %}
{%- endfor %}
{%- else %}
select cast(null as {{ dbt.type_string() }}) as phi_column
where 1 = 0
{%- endif %}

{% endtest %}
