-- The ICD-10-CM code set (billable leaves and headers), codes without dots.

with source as (

    select * from {{ source('ref', 'icd10cm') }}

),

renamed as (

    select
        {{ normalize_code('icd10cm_code') }} as icd10cm_code,
        cast(description as varchar) as description,
        cast(is_billable as boolean) as is_billable,
        cast(release as varchar) as icd10cm_release
    from source

)

select * from renamed
