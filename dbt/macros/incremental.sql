{#-
    Helpers of the incremental models (see dbt/README.md, "Incremental models").

    The loader appends each file's rows to raw in one transaction and tags every row with
    the file's load id, so a load is either wholly in an incremental model or not at all:
    "the rows of loads not yet in the model" is an exact predicate, independent of dates
    and clocks.
-#}

{#-
    Predicate for a where clause: the row's load (`load_id_expression`) is not yet in this
    incremental model (column `load_id` of {{ this }}). `true` on a full build.

    `loads_from`: the relations (a list) the rows come from, with their load ids in the
    column `load_id_expression` names (its last dotted part). The new loads are looked up
    when the model is compiled, which dbt does right before running it, and written into
    the query as a list of constants: DuckDB filters the table scan with them, so the other
    columns of older loads' rows are never read. (An anti-join against the model's load ids
    reads every column of every row first: at 1M encounters the night's charge lines took
    0.8-1.0 s to select that way, 0.45-0.5 s with the list. The look-up takes the distinct
    load ids of both sides, 0.03-0.05 s over two 15M-row tables; without `distinct` on the
    model's side, 0.8-1.1 s.)
-#}
{% macro is_new_load(load_id_expression, loads_from) -%}
    {%- if is_incremental() -%}
        {%- set new_loads = new_load_ids(loads_from, load_id_expression.split('.') | last) -%}
        {%- if new_loads -%}
            {{ load_id_expression }} in (
            {%- for load_id in new_loads -%}
                '{{ load_id | replace("'", "''") }}'{{ ', ' if not loop.last }}
            {%- endfor -%}
            )
        {%- else -%}
            false
        {%- endif -%}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- The load ids in `loads_from` (relations, column `loads_column`) that {{ this }} lacks, sorted. -#}
{% macro new_load_ids(loads_from, loads_column) -%}
    {%- do require_incremental_columns(['load_id']) -%}
    {%- set query -%}
        select loads.load_id
        from (
            {%- for relation in loads_from %}
            select distinct {{ loads_column }} as load_id from {{ relation }}
            {%- if not loop.last %}
            union{% endif %}
            {%- endfor %}
        ) as loads
        where loads.load_id is not null
        except
        select distinct loaded.load_id from {{ this }} as loaded
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | sort) }}
{%- endmacro %}

{#-
    The number of this build of an incremental model, stored on every row the build writes
    (column build_number): 1 on a full build, one more than the table's highest number on an
    incremental run. The data tests of the model's key read it to check what the latest
    build wrote against the whole table (macros/tests/latest_build.sql). A scalar subquery.
-#}
{% macro next_build_number() -%}
    {%- if is_incremental() -%}
        {%- do require_incremental_columns(['build_number']) -%}
        (select coalesce(max(built.build_number), 0) + 1 from {{ this }} as built)
    {%- else -%}
        1
    {%- endif -%}
{%- endmacro %}

{#-
    Stop with an actionable message when {{ this }} lacks a column the incremental branch
    reads (a table built by an older version of the model): rebuild it with --full-refresh.
-#}
{% macro require_incremental_columns(columns) -%}
    {%- if execute -%}
        {%- set present = adapter.get_columns_in_relation(this) | map(attribute='name')
            | map('lower') | list -%}
        {%- set missing = columns | reject('in', present) | list -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                this ~ " was built by an older version of " ~ model.name ~ " (no column "
                ~ missing | join(", ") ~ "): rebuild it once with `dbt build --full-refresh "
                ~ "--select " ~ model.name ~ "`"
            ) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#-
    A version of the seed carc_categories (a hash of its rows, in order): stored on every row
    of the models whose denial flags come from it, so rows built with an earlier version of
    the editable seed are rebuilt by the next incremental run. A scalar subquery.
-#}
{% macro carc_categories_version() -%}
    (
        select
            {{ dbt.hash(dbt.listagg(
                dbt.concat([
                    "coalesce(group_code, '')", "'|'",
                    "coalesce(carc_code, '')", "'|'",
                    "coalesce(denial_category, '')", "'|'",
                    "coalesce(cast(is_denial as " ~ dbt.type_string() ~ "), '')",
                ]),
                "';'",
                "order by group_code, carc_code"
            )) }}
        from {{ ref('carc_categories') }}
    )
{%- endmacro %}

{#-
    A version of the cost inputs of int_charges_costed: a hash of the seeds
    revenue_code_families and cost_to_charge_ratios (their rows, in order) and of
    var('hospital_wide_family'). Stored on every row, so that after an edit of either seed or
    the var the next incremental run rebuilds every row. A scalar subquery.
-#}
{% macro charge_costing_version() -%}
    (
        select
            {{ dbt.hash(dbt.concat([
                "'" ~ var('hospital_wide_family') ~ "'", "'#'",
                "families.rows_text", "'#'", "ratios.rows_text",
            ])) }}
        from (
            select
                {{ dbt.listagg(
                    dbt.concat([
                        "coalesce(revenue_code_prefix, '')", "'|'",
                        "coalesce(revenue_code_family, '')",
                    ]),
                    "';'",
                    "order by revenue_code_prefix, revenue_code_family"
                ) }} as rows_text
            from {{ ref('revenue_code_families') }}
        ) as families
        cross join (
            select
                {{ dbt.listagg(
                    dbt.concat([
                        "coalesce(facility_id, '')", "'|'",
                        "coalesce(revenue_code_family, '')", "'|'",
                        "coalesce(cast(cost_to_charge_ratio as " ~ dbt.type_string() ~ "), '')",
                    ]),
                    "';'",
                    "order by facility_id, revenue_code_family"
                ) }} as rows_text
            from {{ ref('cost_to_charge_ratios') }}
        ) as ratios
    )
{%- endmacro %}

{#-
    Predicate: some row of {{ this }} was built with a version (column `column`) other than
    `version_expression` (a scalar subquery). `false` on a full build.
-#}
{% macro any_row_of_other_version(column, version_expression) -%}
    {%- if is_incremental() -%}
        {%- do require_incremental_columns([column]) -%}
        exists (
            select 1
            from {{ this }} as built
            where built.{{ column }} is distinct from {{ version_expression }}
        )
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}

{#- True when any of `columns` differs (null-safe) between relations `left` and `right`. -#}
{% macro any_column_differs(left, right, columns) -%}
    (
        {%- for column in columns %}
        {{ left }}.{{ column }} is distinct from {{ right }}.{{ column }}
        {%- if not loop.last %} or{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

{#-
    The columns the remittance fact models copy from their claim (int_remittance_claims_ranked).
    They can change after a row is built: a remittance of the same claim_id dated earlier
    takes over the first adjudication, charge lines arriving give the claim its facility,
    a changed var (adjudication / reversal status codes) re-ranks. Incremental runs compare
    them with the current claims and rebuild the rows of every claim that differs.
-#}
{% macro remittance_claim_context_columns() -%}
    {{ return([
        'claim_id',
        'era_payment_id',
        'remittance_date',
        'remittance_month',
        'payer_id',
        'facility_id',
        'claim_status_code',
        'is_first_adjudication',
        'is_reversal',
    ]) }}
{%- endmacro %}

{#-
    Select statement (a CTE body) of the era_claim_ids whose rows in this incremental model
    are stale: built with another version of carc_categories, or with claim context (see
    remittance_claim_context_columns) that differs from `remittance_claims` now. Compared at
    the claim grain: one distinct row per claim and context read from {{ this }}.
-#}
{% macro stale_remittance_claims(remittance_claims) -%}
    {%- set context_columns = remittance_claim_context_columns() -%}
    {%- do require_incremental_columns(['carc_categories_version'] + context_columns) -%}
    select built_claims.era_claim_id
    from (
        select distinct
            era_claim_id,
            carc_categories_version,
            {{ context_columns | join(',\n            ') }}
        from {{ this }}
    ) as built_claims
    left join {{ remittance_claims }} as current_claims
        on built_claims.era_claim_id = current_claims.era_claim_id
    where built_claims.carc_categories_version is distinct from {{ carc_categories_version() }}
        or {{ any_column_differs('built_claims', 'current_claims', context_columns) }}
{%- endmacro %}

{#-
    CTEs (with their trailing comma) of a remittance fact model: `name` holds the rows of
    `relation` to build this run. A full build: every row. An incremental run: the rows of
    new loads (is_new_load; `loads_from`: the relations `relation` reads), plus every row of
    a claim whose built rows are stale (stale_remittance_claims, against
    `remittance_claims`), so that delete+insert on the model's key leaves the table equal to
    a full build.
-#}
{% macro remittance_rows_to_build(name, relation, remittance_claims, loads_from) -%}
{%- if is_incremental() -%}
stale_claims as (

    {{ stale_remittance_claims(remittance_claims) }}

),

{{ name }} as (

    select *
    from {{ relation }}
    where {{ is_new_load(relation ~ '.load_id', loads_from) }}
        or {{ relation }}.era_claim_id in (select stale_claims.era_claim_id from stale_claims)

),
{%- else -%}
{{ name }} as (

    select * from {{ relation }}

),
{%- endif -%}
{%- endmacro %}

{#-
    Bookkeeping of the models rebuilt by key from another incremental model (the encounter-
    level models): each row stores, in `consumed_column`, the highest build_number of the
    parent when the build that wrote the row read it. A night reads the parent's rows
    written since (build_number above the highest value stored in {{ this }}).

    `consumed_build(parent)`: the value to store, a scalar subquery.
    `built_since_consumed(alias, parent, consumed_column)`: predicate on the parent's rows
    (`alias`): written by a build this model has not read yet. Every row when the parent's
    highest build is below the stored one (the parent was rebuilt with --full-refresh and
    this model was not). `true` on a full build.

    Exact because the parent's build numbers only grow and every build of this model
    rebuilds whole each key it reads from the parent's current rows: reading a row twice
    (e.g. when the rows that carried the highest stored value were all replaced) repeats
    work, it changes nothing.
-#}
{% macro consumed_build(parent) -%}
    (select coalesce(max(parent_builds.build_number), 0) from {{ parent }} as parent_builds)
{%- endmacro %}

{% macro built_since_consumed(alias, parent, consumed_column) -%}
    {%- if is_incremental() -%}
        {%- do require_incremental_columns([consumed_column]) -%}
        {%- set consumed -%}
            (select coalesce(max(consumed.{{ consumed_column }}), 0) from {{ this }} as consumed)
        {%- endset -%}
        (
            {{ alias }}.build_number > {{ consumed }}
            or {{ consumed_build(parent) }} < {{ consumed }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#-
    Incremental strategy `replace_keys` (config: incremental_strategy='replace_keys',
    unique_key=<one column>, key_only_rows=<predicate>). Every key the night's rows carry is
    replaced whole: the table's rows of the key are deleted, then the night's rows are
    inserted except those matching `key_only_rows`, which only name a key to delete. For
    grains below the key (encounter x code) where a key can lose all its rows: an encounter
    whose new version documents no code, or is no longer coded. dbt's delete+insert cannot
    do that: it deletes only keys that have a new row.
-#}
{% macro get_incremental_replace_keys_sql(arg_dict) -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- set key_only_rows = config.get('key_only_rows') -%}
    {%- if key is not string or not key_only_rows -%}
        {{ exceptions.raise_compiler_error(
            "incremental_strategy 'replace_keys' needs unique_key (one column) and key_only_rows"
        ) }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ key }} in (
        select night.{{ key }} from {{ arg_dict['temp_relation'] }} as night
    );
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }}
    from {{ arg_dict['temp_relation'] }}
    where not ({{ key_only_rows }})
{%- endmacro %}

{#-
    On an incremental run of a replace_keys model: `union all` one key-only row per row of
    `keys_relation` (its `key`; the other columns, `null_columns` as (name, type) pairs,
    null), so each of those keys is replaced even when it has no rows now. Nothing on a
    full build. Goes after the select of the model's rows.
-#}
{% macro union_key_only_rows(keys_relation, key, null_columns) -%}
    {%- if is_incremental() %}

    union all

    select
        {{ keys_relation }}.{{ key }}
        {%- for name, type in null_columns %},
        cast(null as {{ type }}) as {{ name }}
        {%- endfor %}
    from {{ keys_relation }}
    {%- endif %}
{%- endmacro %}

{#-
    CTEs (with their trailing comma), one per (name, relation) pair of `ctes`: on an
    incremental run `name` holds the rows of `relation` whose `key` is in `keys_relation`
    (the keys the run rebuilds), on a full build every row. For the models rebuilt by key
    (int_encounter_codes_compared, int_documentation_gaps_identified, and the aggregates of
    charge lines by encounter or claim).
-#}
{% macro rows_of_keys(ctes, key, keys_relation) -%}
{%- for name, relation in ctes %}
{{ name }} as (

    select *
    from {{ relation }}
    {%- if is_incremental() %}
    where {{ relation }}.{{ key }} in (select {{ keys_relation }}.{{ key }} from {{ keys_relation }})
    {%- endif %}

),
{% endfor -%}
{%- endmacro %}

{#-
    A version of what int_encounter_codes_compared reads from the code set: a hash of
    stg_ref__icd10cm (code, billable flag, description, in code order) and of var
    unspecified_dx_rule. Stored on every row, so a new ICD-10-CM release or another rule
    rebuilds every row on the next run. A scalar subquery.
-#}
{% macro icd10cm_version() -%}
    (
        select
            {{ dbt.hash(dbt.concat([
                "'" ~ var('unspecified_dx_rule') ~ "'", "'#'",
                "coalesce(" ~ dbt.listagg(
                    dbt.concat([
                        "coalesce(icd10cm_code, '')", "'|'",
                        "coalesce(cast(is_billable as " ~ dbt.type_string() ~ "), '')", "'|'",
                        "coalesce(description, '')",
                    ]),
                    "';'",
                    "order by icd10cm_code"
                ) ~ ", '')",
            ])) }}
        from {{ ref('stg_ref__icd10cm') }}
    )
{%- endmacro %}
