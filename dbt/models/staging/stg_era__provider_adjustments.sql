-- One row per PLB reason/amount pair. Positive amounts reduce the payment.

with source as (

    select * from {{ source('raw', 'era_provider_adjustments') }}

),

renamed as (

    select
        cast(provider_adjustment_key as {{ dbt.type_string() }}) as provider_adjustment_id,
        cast(payment_key as {{ dbt.type_string() }}) as era_payment_id,
        cast(provider_identifier as {{ dbt.type_string() }}) as provider_identifier,
        cast(fiscal_period_date as date) as fiscal_period_date,
        cast(pair_index as {{ dbt.type_int() }}) as pair_index,
        upper(trim(cast(adjustment_reason_code as {{ dbt.type_string() }}))) as adjustment_reason_code,
        cast(reference_identifier as {{ dbt.type_string() }}) as reference_identifier,
        {{ money('adjustment_amount') }} as adjustment_amount
    from source

)

select * from renamed
