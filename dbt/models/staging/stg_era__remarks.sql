-- One row per remark code: RARC on a line (LQ) or on a claim (MIA/MOA).

with source as (

    select * from {{ source('raw', 'era_remarks') }}

),

renamed as (

    select
        cast(remark_key as varchar) as remark_id,
        cast(claim_key as varchar) as era_claim_id,
        cast(service_line_key as varchar) as era_service_line_id,
        cast(payment_key as varchar) as era_payment_id,
        cast(level as varchar) as remark_level,
        cast(source_element as varchar) as source_element,
        cast(code_list_qualifier as varchar) as code_list_qualifier,
        upper(trim(cast(remark_code as varchar))) as remark_code
    from source

)

select * from renamed
