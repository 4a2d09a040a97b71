-- One row per encounter x code system x code documented in the clinical record:
-- ICD-10-CM from documented_dx_codes, CPT/HCPCS from documented_px_codes (latest encounter
-- version). code_position is the first position of the code in its list (1 = principal
-- diagnosis for ICD-10-CM).

with encounters as (

    select * from {{ ref('stg_ehr__encounters') }}

),

dx_codes as (

    select
        encounter_id,
        'icd10cm' as code_system,
        {{ unnest_list('documented_dx_codes') }} as code,
        {{ unnest_list_position('documented_dx_codes') }} as code_position
    from encounters

),

px_codes as (

    select
        encounter_id,
        'hcpcs' as code_system,
        {{ unnest_list('documented_px_codes') }} as code,
        {{ unnest_list_position('documented_px_codes') }} as code_position
    from encounters

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
