-- One row per charge line. The loader keeps the first row of a charge_id (later copies are
-- quarantined); the qualify below keeps that rule should a duplicate ever reach raw.
-- Codes are normalized (upper case, no dots).

with source as (

    select * from {{ source('raw', 'charges') }}

),

renamed as (

    select
        cast(charge_id as varchar) as charge_id,
        cast(encounter_id as varchar) as encounter_id,
        cast(claim_id as varchar) as claim_id,
        cast(facility_id as varchar) as facility_id,
        cast(department_id as varchar) as department_id,
        cast(service_date as date) as service_date,
        cast(posted_date as date) as posted_date,
        cast(cdm_code as varchar) as cdm_code,
        lpad(cast(revenue_code as varchar), 4, '0') as revenue_code,
        {{ normalize_code('hcpcs_code') }} as hcpcs_code,
        modifiers,
        cast(units as integer) as units,
        {{ normalize_code_list('billed_dx_codes') }} as billed_dx_codes,
        {{ money('charge_amount') }} as charge_amount,
        {{ money('cost_amount') }} as cost_amount,
        lower(cast(cost_category as varchar)) as cost_category,
        cast(rendering_npi as varchar) as rendering_npi,
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
            partition by charge_id
            order by load_id, source_row_number
        ) = 1

)

select * from latest_version
