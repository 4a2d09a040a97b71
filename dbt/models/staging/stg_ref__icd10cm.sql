-- The ICD-10-CM code set (billable leaves and headers), codes without dots.

with source as (

    select * from {{ source('ref', 'icd10cm') }}

),

renamed as (

    select
        {{ normalize_code('icd10cm_code') }} as icd10cm_code,
        cast(description as {{ dbt.type_string() }}) as description,
        cast(is_billable as {{ dbt.type_boolean() }}) as is_billable,
        cast(release as {{ dbt.type_string() }}) as icd10cm_release
    from source

)

select * from renamed
