-- One row per coded encounter (coded_at not null) x code system x code in B ∪ D, where
-- B = codes billed (int_billed_codes_aggregated.is_billed) and D = codes documented.
-- is_valid: ICD-10-CM billable (a leaf) in ref.icd10cm; CPT/HCPCS of valid form
-- (5 digits, a letter and 4 digits, or a category III code: 4 digits and T).
-- is_unspecified: a valid ICD-10-CM code that is "unspecified" by var('unspecified_dx_rule'):
-- 'description' (default) = its description in the shipped release contains the word
-- "unspecified" (any case); 'final_character_9' = the code ends in 9 (the coders' rule of
-- thumb). CPT/HCPCS codes and invalid codes are never unspecified.
{%- set unspecified_rule = var('unspecified_dx_rule') %}
{%- if unspecified_rule not in ('description', 'final_character_9') %}
    {{ exceptions.raise_compiler_error(
        "var unspecified_dx_rule must be 'description' or 'final_character_9', not '"
        ~ unspecified_rule ~ "'"
    ) }}
{%- endif %}
{#-
    Incremental (replace_keys on encounter_id; see dbt/README.md): a night compares again
    each encounter whose version stg_ehr__encounters wrote, or that gained charge lines in
    stg_ehr__charges, since this table read them (columns encounters_build, charges_build);
    every encounter when the code set or the rule changed (icd10cm_version). A rebuilt
    encounter's rows are deleted first, also when it has none now (no longer coded: a
    key-only row, code null, names it).
#}
{{ config(
    materialized='incremental',
    unique_key='encounter_id',
    incremental_strategy='replace_keys',
    key_only_rows='code is null',
    on_schema_change='fail'
) }}

-- The all_* CTEs are `not materialized`: read more than once, DuckDB would copy the whole
-- table into each (dbt/README.md, "Import CTEs read twice").
with all_encounters as not materialized (

    select * from {{ ref('stg_ehr__encounters') }}

),

all_billed_codes as not materialized (

    select * from {{ ref('int_billed_codes_aggregated') }}
    where is_billed

),

all_documented_codes as not materialized (

    select * from {{ ref('int_documented_codes_unnested') }}

),

{% if is_incremental() -%}
changed_encounters as (

    select all_encounters.encounter_id
    from all_encounters
    where {{ built_since_consumed('all_encounters', ref('stg_ehr__encounters'), 'encounters_build') }}
        or {{ any_row_of_other_version('icd10cm_version', icd10cm_version()) }}

    union

    select new_charges.encounter_id
    from {{ ref('stg_ehr__charges') }} as new_charges
    where {{ built_since_consumed('new_charges', ref('stg_ehr__charges'), 'charges_build') }}

),
{%- endif %}

{{ rows_of_keys([
    ('encounters', 'all_encounters'),
    ('billed_codes', 'all_billed_codes'),
    ('documented_codes', 'all_documented_codes'),
], 'encounter_id', 'changed_encounters') }}

icd10cm as (

    select * from {{ ref('stg_ref__icd10cm') }}

),

coded_encounters as (

    select encounter_id
    from encounters
    where coded_at is not null

),

compared as (

    select
        coalesce(billed_codes.encounter_id, documented_codes.encounter_id) as encounter_id,
        coalesce(billed_codes.code_system, documented_codes.code_system) as code_system,
        coalesce(billed_codes.code, documented_codes.code) as code,
        billed_codes.code is not null as is_billed,
        documented_codes.code is not null as is_documented
    from billed_codes
    full outer join documented_codes
        on billed_codes.encounter_id = documented_codes.encounter_id
        and billed_codes.code_system = documented_codes.code_system
        and billed_codes.code = documented_codes.code

),

validated as (

    select
        compared.encounter_id,
        compared.code_system,
        compared.code,
        compared.is_billed,
        compared.is_documented,
        case
            when compared.code_system = 'icd10cm' then coalesce(icd10cm.is_billable, false)
            else {{ regex_full_match('compared.code', '[0-9]{5}|[A-Z][0-9]{4}|[0-9]{4}T') }}
        end as is_valid,
        coalesce(
            compared.code_system = 'icd10cm'
            and icd10cm.is_billable
            {%- if unspecified_rule == 'description' %}
            and lower(icd10cm.description) like '%unspecified%',
            {%- else %}
            and compared.code like '%9',
            {%- endif %}
            false
        ) as is_unspecified
    from compared
    inner join coded_encounters
        on compared.encounter_id = coded_encounters.encounter_id
    left join icd10cm
        on compared.code_system = 'icd10cm'
        and compared.code = icd10cm.icd10cm_code

),

final as (

    select
        *,
        is_billed and is_documented and is_valid as is_correct
    from validated

),

with_key_only_rows as (

    select * from final
    {{- union_key_only_rows('encounters', 'encounter_id', [
        ('code_system', dbt.type_string()),
        ('code', dbt.type_string()),
        ('is_billed', dbt.type_boolean()),
        ('is_documented', dbt.type_boolean()),
        ('is_valid', dbt.type_boolean()),
        ('is_unspecified', dbt.type_boolean()),
        ('is_correct', dbt.type_boolean()),
    ]) }}

)

select
    with_key_only_rows.*,
    {{ consumed_build(ref('stg_ehr__encounters')) }} as encounters_build,
    {{ consumed_build(ref('stg_ehr__charges')) }} as charges_build,
    {{ icd10cm_version() }} as icd10cm_version,
    {{ next_build_number() }} as build_number
from with_key_only_rows
