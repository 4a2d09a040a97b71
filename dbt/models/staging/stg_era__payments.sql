-- One row per 835 transaction set (ST..SE): the payment (BPR), trace (TRN), payer (N1*PR)
-- and payee (N1*PE). payer_id = N1*PR N104 when present, else N102; remittance_date =
-- BPR16, else DTM*405 (domain.md Part A), recomputed here from the raw elements.

with source as (

    select * from {{ source('raw', 'era_payments') }}

),

renamed as (

    select
        cast(payment_key as {{ dbt.type_string() }}) as era_payment_id,
        cast(source_file as {{ dbt.type_string() }}) as source_file,
        cast(file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(interchange_control_number as {{ dbt.type_string() }}) as interchange_control_number,
        cast(transaction_control_number as {{ dbt.type_string() }}) as transaction_control_number,
        cast(segment_position as {{ dbt.type_bigint() }}) as segment_position,
        cast(implementation_version as {{ dbt.type_string() }}) as implementation_version,
        cast(transaction_handling_code as {{ dbt.type_string() }}) as transaction_handling_code,
        {{ money('total_payment_amount') }} as total_payment_amount,
        cast(credit_debit_flag as {{ dbt.type_string() }}) as credit_debit_flag,
        cast(payment_method_code as {{ dbt.type_string() }}) as payment_method_code,
        cast(payment_date as date) as payment_date,
        cast(production_date as date) as production_date,
        coalesce(cast(payment_date as date), cast(production_date as date)) as remittance_date,
        cast(trace_number as {{ dbt.type_string() }}) as trace_number,
        cast(payer_name as {{ dbt.type_string() }}) as payer_name,
        cast(payer_identifier as {{ dbt.type_string() }}) as payer_identifier,
        coalesce(
            nullif(trim(cast(payer_identifier as {{ dbt.type_string() }})), ''),
            nullif(trim(cast(payer_name as {{ dbt.type_string() }})), '')
        ) as payer_id,
        cast(payee_name as {{ dbt.type_string() }}) as payee_name,
        cast(payee_npi as {{ dbt.type_string() }}) as payee_npi,
        {{ money('provider_adjustment_amount') }} as provider_adjustment_amount,
        cast(is_balanced as {{ dbt.type_boolean() }}) as is_balanced
    from source

)

select * from renamed
