-- Grain: one row per encounter (latest version). Pseudonymous: patient_key is a salted
-- hash of the MRN; the MRN and birth date are not exposed (age at admission instead,
-- capped at var('max_reported_age')).

with encounters as (

    select * from {{ ref('stg_ehr__encounters') }}

),

charges as (

    select * from {{ ref('stg_ehr__charges') }}

),

charge_totals as (

    select
        encounter_id,
        count(*) as charge_lines,
        sum(charge_amount) as charge_amount
    from charges
    group by encounter_id

),

final as (

    select
        encounters.encounter_id,
        encounters.patient_key,
        least(
            {{ dbt.datediff('encounters.patient_birth_date', 'encounters.admit_date', 'year') }}
            - case
                when {{ dbt.dateadd(
                    'year',
                    dbt.datediff('encounters.patient_birth_date', 'encounters.admit_date', 'year'),
                    'encounters.patient_birth_date'
                ) }} > encounters.admit_date then 1
                else 0
            end,
            {{ var('max_reported_age') }}
        ) as patient_age_at_admit,
        encounters.patient_sex,
        encounters.facility_id,
        encounters.department_id,
        encounters.encounter_type,
        encounters.admit_date,
        encounters.discharge_date,
        {{ month_start('coalesce(encounters.discharge_date, encounters.admit_date)') }}
            as encounter_month,
        encounters.attending_npi,
        {{ npi_is_valid('encounters.attending_npi') }} as is_attending_npi_valid,
        encounters.primary_payer_id,
        encounters.coder_id,
        {{ list_size('encounters.documented_dx_codes') }} as documented_dx_count,
        {{ list_size('encounters.documented_px_codes') }} as documented_px_count,
        {{ list_first('encounters.documented_dx_codes') }} as principal_dx_code,
        encounters.note_signed_at,
        encounters.coded_at,
        encounters.final_billed_at,
        encounters.note_signed_at is not null as is_note_signed,
        encounters.coded_at is not null as is_coded,
        encounters.final_billed_at is not null as is_final_billed,
        coalesce(charge_totals.charge_lines, 0) as charge_lines,
        {{ money('coalesce(charge_totals.charge_amount, 0)') }} as charge_amount,
        encounters.updated_at
    from encounters
    left join charge_totals
        on encounters.encounter_id = charge_totals.encounter_id

)

select * from final
