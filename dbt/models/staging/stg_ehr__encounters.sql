-- One row per encounter: the latest version (newest updated_at wins). The loader keeps one
-- row per encounter_id + updated_at (a later conflicting row is quarantined); any remaining
-- tie is broken like raw.encounters_latest (first load, first row). Codes are normalized
-- (upper case, no dots).

with source as (

    select * from {{ source('raw', 'encounters') }}

),

renamed as (

    select
        cast(encounter_id as varchar) as encounter_id,
        cast(patient_id as varchar) as patient_id,
        {{ pseudonymize('cast(patient_id as varchar)') }} as patient_key,
        cast(patient_birth_date as date) as patient_birth_date,
        upper(cast(patient_sex as varchar)) as patient_sex,
        cast(facility_id as varchar) as facility_id,
        cast(department_id as varchar) as department_id,
        lower(cast(encounter_type as varchar)) as encounter_type,
        cast(admit_date as date) as admit_date,
        cast(discharge_date as date) as discharge_date,
        cast(attending_npi as varchar) as attending_npi,
        cast(primary_payer_id as varchar) as primary_payer_id,
        cast(coder_id as varchar) as coder_id,
        {{ normalize_code_list('documented_dx_codes') }} as documented_dx_codes,
        {{ normalize_code_list('documented_px_codes') }} as documented_px_codes,
        cast(note_signed_at as timestamp) as note_signed_at,
        cast(coded_at as timestamp) as coded_at,
        cast(final_billed_at as timestamp) as final_billed_at,
        cast(updated_at as timestamp) as updated_at,
        cast(_load_id as varchar) as load_id,
        cast(_source_file as varchar) as source_file,
        cast(_source_line as bigint) as source_line,
        cast(_row_number as bigint) as source_row_number
    from source

),

latest_version as (

    select *
    from renamed
    qualify row_number() over (
            partition by encounter_id
            order by updated_at desc, load_id asc, source_row_number asc
        ) = 1

)

select * from latest_version
