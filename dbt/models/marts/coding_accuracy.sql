-- Grain: month (of coded_at) x facility_id x coder_id, over coded encounters.
-- See _marts__models.yml and docs/metrics.md for each measure's definition.

with encounters as (

    select * from {{ ref('stg_ehr__encounters') }}

),

encounter_codes as (

    select * from {{ ref('int_encounter_codes_compared') }}

),

coded_encounters as (

    select
        encounter_id,
        facility_id,
        coder_id,
        {{ month_start('coded_at') }} as month
    from encounters
    where coded_at is not null

),

encounter_scores as (

    select
        encounter_id,
        sum(case when is_billed then 1 else 0 end) as codes_billed,
        sum(case when is_documented then 1 else 0 end) as codes_documented,
        sum(case when is_billed and not is_valid then 1 else 0 end) as codes_invalid,
        sum(case when is_billed and not is_documented then 1 else 0 end) as codes_unsupported,
        sum(case when is_documented and not is_billed then 1 else 0 end) as codes_missed,
        sum(case when is_correct then 1 else 0 end) as codes_correct,
        count(*) as codes_compared,
        sum(case when is_billed and code_system = 'icd10cm' then 1 else 0 end) as dx_codes_billed,
        sum(case when is_billed and is_unspecified then 1 else 0 end) as dx_codes_unspecified
    from encounter_codes
    group by encounter_id

),

scored_encounters as (

    select
        coded_encounters.month,
        coded_encounters.facility_id,
        coded_encounters.coder_id,
        coded_encounters.encounter_id,
        coalesce(encounter_scores.codes_billed, 0) as codes_billed,
        coalesce(encounter_scores.codes_documented, 0) as codes_documented,
        coalesce(encounter_scores.codes_invalid, 0) as codes_invalid,
        coalesce(encounter_scores.codes_unsupported, 0) as codes_unsupported,
        coalesce(encounter_scores.codes_missed, 0) as codes_missed,
        coalesce(encounter_scores.codes_correct, 0) as codes_correct,
        coalesce(encounter_scores.codes_compared, 0) as codes_compared,
        coalesce(encounter_scores.dx_codes_billed, 0) as dx_codes_billed,
        coalesce(encounter_scores.dx_codes_unspecified, 0) as dx_codes_unspecified
    from coded_encounters
    left join encounter_scores
        on coded_encounters.encounter_id = encounter_scores.encounter_id

),

aggregated as (

    select
        month,
        facility_id,
        coder_id,
        count(*) as encounters_coded,
        sum(
            case
                when codes_invalid = 0 and codes_unsupported = 0 and codes_missed = 0 then 1
                else 0
            end
        ) as encounters_accurate,
        sum(codes_billed) as codes_billed,
        sum(codes_documented) as codes_documented,
        sum(codes_invalid) as codes_invalid,
        sum(codes_unsupported) as codes_unsupported,
        sum(codes_missed) as codes_missed,
        sum(codes_correct) as codes_correct,
        sum(codes_compared) as codes_compared,
        sum(dx_codes_billed) as dx_codes_billed,
        sum(dx_codes_unspecified) as dx_codes_unspecified
    from scored_encounters
    group by month, facility_id, coder_id

),

final as (

    select
        month,
        facility_id,
        coder_id,
        cast(encounters_coded as {{ dbt.type_bigint() }}) as encounters_coded,
        cast(encounters_accurate as {{ dbt.type_bigint() }}) as encounters_accurate,
        {{ safe_ratio('encounters_accurate', 'encounters_coded') }} as encounter_accuracy_rate,
        cast(codes_billed as {{ dbt.type_bigint() }}) as codes_billed,
        cast(codes_documented as {{ dbt.type_bigint() }}) as codes_documented,
        cast(codes_invalid as {{ dbt.type_bigint() }}) as codes_invalid,
        cast(codes_unsupported as {{ dbt.type_bigint() }}) as codes_unsupported,
        cast(codes_missed as {{ dbt.type_bigint() }}) as codes_missed,
        cast(codes_correct as {{ dbt.type_bigint() }}) as codes_correct,
        cast(codes_compared as {{ dbt.type_bigint() }}) as codes_compared,
        {{ safe_ratio('codes_correct', 'codes_compared') }} as code_accuracy_rate,
        cast(dx_codes_billed as {{ dbt.type_bigint() }}) as dx_codes_billed,
        cast(dx_codes_unspecified as {{ dbt.type_bigint() }}) as dx_codes_unspecified,
        {{ safe_ratio('dx_codes_unspecified', 'dx_codes_billed') }} as unspecified_code_rate
    from aggregated

)

select * from final
