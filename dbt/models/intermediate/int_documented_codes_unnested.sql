-- One row per encounter x code system x code documented in the clinical record:
-- ICD-10-CM from documented_dx_codes, CPT/HCPCS from documented_px_codes (latest encounter
-- version). code_position is the first position of the code in its list (1 = principal
-- diagnosis for ICD-10-CM).
--
-- Incremental (replace_keys on encounter_id; see dbt/README.md): a night rebuilds the
-- encounters whose version stg_ehr__encounters wrote since this table read it (column
-- encounters_build), each whole: its rows are deleted, even when the new version documents
-- no code (a key-only row, code null, names it), and its codes inserted.
{{ config(
    materialized='incremental',
    unique_key='encounter_id',
    incremental_strategy='replace_keys',
    key_only_rows='code is null',
    on_schema_change='fail'
) }}

with all_encounters as (

    select * from {{ ref('stg_ehr__encounters') }}

),

encounters as (

    select *
    from all_encounters
    where {{ built_since_consumed('all_encounters', ref('stg_ehr__encounters'), 'encounters_build') }}

),

dx_codes as (

    select
        dx_list.encounter_id,
        'icd10cm' as code_system,
        dx_list.code,
        dx_list.code_position
    from {{ unnest_list('encounters', 'documented_dx_codes', 'code', 'code_position') }} as dx_list

),

px_codes as (

    select
        px_list.encounter_id,
        'hcpcs' as code_system,
        px_list.code,
        px_list.code_position
    from {{ unnest_list('encounters', 'documented_px_codes', 'code', 'code_position') }} as px_list

),

unioned as (

    select * from dx_codes
    union all
    select * from px_codes

),

deduplicated as (

    select
        encounter_id,
        code_system,
        code,
        min(code_position) as code_position
    from unioned
    where code is not null
    group by encounter_id, code_system, code

),

with_key_only_rows as (

    select * from deduplicated
    {{- union_key_only_rows('encounters', 'encounter_id', [
        ('code_system', dbt.type_string()),
        ('code', dbt.type_string()),
        ('code_position', dbt.type_bigint()),
    ]) }}

)

select
    with_key_only_rows.*,
    {{ consumed_build(ref('stg_ehr__encounters')) }} as encounters_build,
    {{ next_build_number() }} as build_number
from with_key_only_rows
