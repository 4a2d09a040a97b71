{#-
    Data tests of an incremental model's keys that read only what its latest build wrote
    (rows with the highest build_number, see next_build_number) and check it against the
    whole table. On a full build every row is the latest build's, so the whole table is
    checked; on an incremental night only that night's rows are looked up (at 1M encounters
    a whole-table unique test over 15M charge lines takes 2-3 s, this one under 1 s).

    Exact when every earlier build passed the same test: a duplicate or an orphan can only
    appear through a row written since. The nightly flow publishes a build only when its
    tests pass (a failed test fails the run), so the published tables satisfy that. Use
    these tests with severity error only: a warned failure is published and would be checked
    once. To check every row again without rebuilding, run the tests with
    `--vars '{data_tests_whole_tables: true}'`.
-#}

{#-
    True when the test must read the whole table: the latest build wrote every row (a full
    build: one build_number in the table; also an empty table), or var
    data_tests_whole_tables. Queried when the test is compiled; a table not built yet (e.g.
    `dbt compile` on a new warehouse) counts as whole.
-#}
{% macro latest_build_is_whole_table(model) -%}
    {%- if var('data_tests_whole_tables', false) or not execute
        or load_relation(model) is none -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set one_build = run_query(
        "select coalesce(min(build_number) = max(build_number), true) from " ~ model
    ) -%}
    {{ return(one_build.columns[0].values()[0]) }}
{%- endmacro %}

{#- The rows of `model` its latest build wrote: a subquery. -#}
{% macro latest_build_rows(model) -%}
    (
        select *
        from {{ model }}
        where build_number = (select max(build_number) from {{ model }})
    )
{%- endmacro %}

{#-
    `column_name` is unique over the whole table; checked for the values the latest build
    wrote. Nulls are left to not_null (as dbt's own unique test).

        data_tests: [not_null, unique_in_latest_build]
-#}
{% test unique_in_latest_build(model, column_name) %}

select
    {{ column_name }},
    count(*) as duplicate_rows
from {{ model }}
where {{ column_name }} is not null
{%- if not latest_build_is_whole_table(model) %}
    and {{ column_name }} in (
        select latest_build.{{ column_name }}
        from {{ latest_build_rows(model) }} as latest_build
    )
{%- endif %}
group by {{ column_name }}
having count(*) > 1

{% endtest %}

{#-
    Every non-null `column_name` the latest build wrote names a row of `to` (on `field`), as
    dbt's relationships test. Exact only while rows of `to` are never deleted (append-only
    models and tables rebuilt from append-only raw data).

        data_tests:
          - relationships_in_latest_build:
              arguments:
                to: ref('stg_era__claims')
                field: era_claim_id
-#}
{% test relationships_in_latest_build(model, column_name, to, field) %}

with children as (

    select {{ column_name }} as from_field
    from
    {%- if latest_build_is_whole_table(model) %} {{ model }}
    {%- else %} {{ latest_build_rows(model) }}
    {%- endif %} as latest_build
    where {{ column_name }} is not null

),

parents as (

    select {{ field }} as to_field
    from {{ to }}

)

select children.from_field
from children
left join parents
    on children.from_field = parents.to_field
where parents.to_field is null

{% endtest %}

{#-
    The combination of columns is unique over the whole table (the model's grain; nulls
    count as a value, as unique_combination_of_columns); checked for the combinations the
    latest build wrote. A repeated combination shares its first column with a row the
    latest build wrote, so only the rows with those first-column values (and null ones)
    are grouped (at 1M encounters: the night's encounters instead of every encounter's
    codes).

        data_tests:
          - unique_combination_in_latest_build:
              arguments:
                combination_of_columns: [encounter_id, code_system, code]
-#}
{% test unique_combination_in_latest_build(model, combination_of_columns) %}

{%- set first_column = combination_of_columns[0] %}
select
    {{ combination_of_columns | join(',\n    ') }},
    count(*) as duplicate_rows
from {{ model }}
{%- if not latest_build_is_whole_table(model) %}
where {{ first_column }} is null
    or {{ first_column }} in (
        select latest_build.{{ first_column }}
        from {{ latest_build_rows(model) }} as latest_build
    )
{%- endif %}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
