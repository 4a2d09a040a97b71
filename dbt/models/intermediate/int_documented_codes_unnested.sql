-- One row per encounter x code system x code documented in the clinical record:
-- ICD-10-CM from documented_dx_codes, CPT/HCPCS from documented_px_codes (latest encounter
-- version). code_position is the first position of the code in its list (1 = principal
-- diagnosis for ICD-10-CM).

with encounters as (

    select * from {{ ref('stg_ehr__encounters') }}

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

)

select * from deduplicated
