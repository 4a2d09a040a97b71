-- One row per encounter: the latest version (newest updated_at wins). The loader keeps one
-- row per encounter_id + updated_at (a later conflicting row is quarantined); any remaining
-- tie is broken like raw.encounters_latest (first load, first row). Codes are normalized
-- (upper case, no dots). A table, not a view: half the project reads it, and the dedup,
-- the code normalization and the patient key would be recomputed by each reader.
--
-- Incremental (delete+insert on encounter_id; see dbt/README.md): a night reads the raw
-- rows of the loads it has not read yet (ledger stg_ehr__encounter_loads, column
-- encounter_loads_build), and for each encounter they bring keeps the latest of those rows
-- and the version already in the table. The order is total, so that is the latest version
-- over all loads, as a full build picks it.
{{ config(
    materialized='incremental',
    unique_key='encounter_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with loads as (

    select * from {{ ref('stg_ehr__encounter_loads') }}

),

source as (

    select * from {{ source('raw', 'encounters') }}
    {%- if is_incremental() %}
    where _load_id in (
        select loads.load_id
        from loads
        where {{ built_since_consumed('loads', ref('stg_ehr__encounter_loads'), 'encounter_loads_build') }}
    )
    {%- endif %}

),

renamed as (

    select
        cast(encounter_id as {{ dbt.type_string() }}) as encounter_id,
        cast(patient_id as {{ dbt.type_string() }}) as patient_id,
        {{ pseudonymize('cast(patient_id as ' ~ dbt.type_string() ~ ')') }} as patient_key,
        cast(patient_birth_date as date) as patient_birth_date,
        upper(cast(patient_sex as {{ dbt.type_string() }})) as patient_sex,
        cast(facility_id as {{ dbt.type_string() }}) as facility_id,
        cast(department_id as {{ dbt.type_string() }}) as department_id,
        lower(cast(encounter_type as {{ dbt.type_string() }})) as encounter_type,
        cast(admit_date as date) as admit_date,
        cast(discharge_date as date) as discharge_date,
        cast(attending_npi as {{ dbt.type_string() }}) as attending_npi,
        cast(primary_payer_id as {{ dbt.type_string() }}) as primary_payer_id,
        cast(coder_id as {{ dbt.type_string() }}) as coder_id,
        {{ normalize_code_list('documented_dx_codes') }} as documented_dx_codes,
        {{ normalize_code_list('documented_px_codes') }} as documented_px_codes,
        cast(note_signed_at as {{ dbt.type_timestamp() }}) as note_signed_at,
        cast(coded_at as {{ dbt.type_timestamp() }}) as coded_at,
        cast(final_billed_at as {{ dbt.type_timestamp() }}) as final_billed_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_load_id as {{ dbt.type_string() }}) as load_id,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_source_line as {{ dbt.type_bigint() }}) as source_line,
        cast(_row_number as {{ dbt.type_bigint() }}) as source_row_number
    from source

),

{% if is_incremental() -%}
{#- the new rows and the versions in the table of the encounters they bring, by name -#}
{%- set version_columns = adapter.get_columns_in_relation(this)
    | map(attribute='name') | reject('in', ['build_number', 'encounter_loads_build']) | list -%}
candidates as (

    select {{ version_columns | join(', ') }}
    from renamed

    union all

    select {{ version_columns | join(', ') }}
    from {{ this }} as built
    where built.encounter_id in (select renamed.encounter_id from renamed)

),
{%- else -%}
candidates as (

    select * from renamed

),
{%- endif %}

latest_version as (

    {{ deduplicate(
        'candidates',
        'encounter_id',
        'updated_at desc, load_id asc, source_row_number asc'
    ) }}

)

select
    latest_version.*,
    {{ consumed_build(ref('stg_ehr__encounter_loads')) }} as encounter_loads_build,
    {{ next_build_number() }} as build_number
from latest_version
