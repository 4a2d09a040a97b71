-- One row per remark code: RARC on a line (LQ) or on a claim (MIA/MOA).

with source as (

    select * from {{ source('raw', 'era_remarks') }}

),

renamed as (

    select
        cast(remark_key as {{ dbt.type_string() }}) as remark_id,
        cast(claim_key as {{ dbt.type_string() }}) as era_claim_id,
        cast(service_line_key as {{ dbt.type_string() }}) as era_service_line_id,
        cast(payment_key as {{ dbt.type_string() }}) as era_payment_id,
        cast(level as {{ dbt.type_string() }}) as remark_level,
        cast(source_element as {{ dbt.type_string() }}) as source_element,
        cast(code_list_qualifier as {{ dbt.type_string() }}) as code_list_qualifier,
        upper(trim(cast(remark_code as {{ dbt.type_string() }}))) as remark_code
    from source

)

select * from renamed
