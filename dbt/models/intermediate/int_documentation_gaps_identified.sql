-- One row per documentation gap occurrence (domain.md Part A, "Documentation gaps").
-- gap_month = month of the encounter's discharge_date, else admit_date. department_id is
-- the charge line's for line-level gaps (unsupported_charge, late_charge) and the
-- encounter's for encounter-level gaps (missed_charge, unsigned_note, missing_element).
-- Charge lines are judged against the latest version of their encounter; lines whose
-- encounter is unknown cannot be judged and are left out.
{#-
    Incremental (replace_keys on encounter_id; see dbt/README.md, "Encounter-level
    models"): every gap belongs to one encounter, so a night rebuilds whole each encounter
    whose version stg_ehr__encounters wrote, that gained charge lines in stg_ehr__charges,
    or whose lines int_charges_lagged judged again, since this table read them (columns
    encounters_build, charges_build, lagged_charges_build); and each encounter with a
    missed_charge whose price moved: the price is the facility's median unit charge over
    all its lines, which new lines of other encounters change (its stored dollars_at_risk
    differs from the median now). A rebuilt encounter's rows are deleted first, also when
    it has no gap now (a key-only row, gap_type null, names it).
#}
{{ config(
    materialized='incremental',
    unique_key='encounter_id',
    incremental_strategy='replace_keys',
    key_only_rows='gap_type is null',
    on_schema_change='fail'
) }}

-- The all_* CTEs are `not materialized`: read more than once, DuckDB would copy the whole
-- table into each (dbt/README.md, "Import CTEs read twice").
with all_encounters as not materialized (

    select * from {{ ref('stg_ehr__encounters') }}

),

all_charges as not materialized (

    select * from {{ ref('stg_ehr__charges') }}

),

all_lagged_charges as not materialized (

    select * from {{ ref('int_charges_lagged') }}

),

all_documented_codes as not materialized (

    select * from {{ ref('int_documented_codes_unnested') }}

),

unit_charges as (

    -- over every charge line of the facility, whichever encounters this build rebuilds
    select
        facility_id,
        hcpcs_code,
        -- in cents, rounded half to even to the cent (same as the generator's truth)
        {{ round_half_even(
            median('cast(charge_amount * 100 as ' ~ type_double() ~ ') / units'), 0
        ) }} / 100
            as median_unit_charge
    from all_charges
    where hcpcs_code is not null
        and charge_amount > 0
        and units > 0
    group by facility_id, hcpcs_code

),

{% if is_incremental() -%}
changed_encounters as (

    select all_encounters.encounter_id
    from all_encounters
    where {{ built_since_consumed('all_encounters', ref('stg_ehr__encounters'), 'encounters_build') }}

    union

    select new_charges.encounter_id
    from all_charges as new_charges
    where {{ built_since_consumed('new_charges', ref('stg_ehr__charges'), 'charges_build') }}

    union

    select new_lagged_charges.encounter_id
    from all_lagged_charges as new_lagged_charges
    where {{ built_since_consumed(
        'new_lagged_charges', ref('int_charges_lagged'), 'lagged_charges_build'
    ) }}

    union

    select built.encounter_id
    from {{ this }} as built
    left join unit_charges
        on built.facility_id = unit_charges.facility_id
        and built.code = unit_charges.hcpcs_code
    where built.gap_type = 'missed_charge'
        and built.dollars_at_risk is distinct from {{ money('unit_charges.median_unit_charge') }}

),
{%- endif %}

{{ rows_of_keys([
    ('encounters', 'all_encounters'),
    ('charges', 'all_charges'),
    ('lagged_charges', 'all_lagged_charges'),
    ('documented_codes', 'all_documented_codes'),
], 'encounter_id', 'changed_encounters') }}

encounter_months as (

    select
        encounter_id,
        facility_id,
        department_id,
        encounter_type,
        discharge_date,
        documented_px_codes,
        documented_dx_codes,
        attending_npi,
        note_signed_at,
        final_billed_at,
        {{ month_start('coalesce(discharge_date, admit_date)') }} as gap_month
    from encounters

),

encounter_charge_totals as (

    select
        encounter_id,
        count(*) as charge_lines,
        sum(charge_amount) as charge_amount
    from charges
    group by encounter_id

),

unsupported_charges as (

    select
        encounter_months.gap_month,
        encounter_months.facility_id,
        charges.department_id,
        'unsupported_charge' as gap_type,
        charges.encounter_id,
        charges.charge_id,
        charges.hcpcs_code as code,
        1 as charge_lines,
        charges.charge_amount as dollars_at_risk
    from charges
    inner join encounter_months
        on charges.encounter_id = encounter_months.encounter_id
    where charges.hcpcs_code is not null
        and not {{ list_has('encounter_months.documented_px_codes', 'charges.hcpcs_code') }}

),

charged_codes as (

    select distinct
        encounter_id,
        hcpcs_code
    from charges
    where hcpcs_code is not null

),

missed_charges as (

    select
        encounter_months.gap_month,
        encounter_months.facility_id,
        encounter_months.department_id,
        'missed_charge' as gap_type,
        encounter_months.encounter_id,
        cast(null as {{ dbt.type_string() }}) as charge_id,
        documented_codes.code,
        0 as charge_lines,
        unit_charges.median_unit_charge as dollars_at_risk
    from documented_codes
    inner join encounter_months
        on documented_codes.encounter_id = encounter_months.encounter_id
    left join charged_codes
        on documented_codes.encounter_id = charged_codes.encounter_id
        and documented_codes.code = charged_codes.hcpcs_code
    left join unit_charges
        on encounter_months.facility_id = unit_charges.facility_id
        and documented_codes.code = unit_charges.hcpcs_code
    where documented_codes.code_system = 'hcpcs'
        and charged_codes.hcpcs_code is null

),

unsigned_notes as (

    select
        encounter_months.gap_month,
        encounter_months.facility_id,
        encounter_months.department_id,
        'unsigned_note' as gap_type,
        encounter_months.encounter_id,
        cast(null as {{ dbt.type_string() }}) as charge_id,
        cast(null as {{ dbt.type_string() }}) as code,
        coalesce(encounter_charge_totals.charge_lines, 0) as charge_lines,
        coalesce(encounter_charge_totals.charge_amount, 0) as dollars_at_risk
    from encounter_months
    left join encounter_charge_totals
        on encounter_months.encounter_id = encounter_charge_totals.encounter_id
    where encounter_months.final_billed_at is not null
        and (
            encounter_months.note_signed_at is null
            or encounter_months.note_signed_at > encounter_months.final_billed_at
        )

),

missing_elements as (

    select
        encounter_months.gap_month,
        encounter_months.facility_id,
        encounter_months.department_id,
        'missing_element' as gap_type,
        encounter_months.encounter_id,
        cast(null as {{ dbt.type_string() }}) as charge_id,
        cast(null as {{ dbt.type_string() }}) as code,
        coalesce(encounter_charge_totals.charge_lines, 0) as charge_lines,
        coalesce(encounter_charge_totals.charge_amount, 0) as dollars_at_risk
    from encounter_months
    left join encounter_charge_totals
        on encounter_months.encounter_id = encounter_charge_totals.encounter_id
    where encounter_months.final_billed_at is not null
        and (
            {{ list_first('encounter_months.documented_dx_codes') }} is null
            or not {{ npi_is_valid('encounter_months.attending_npi') }}
        )

),

late_charges as (

    -- the bill-hold rule lives in int_charges_lagged (shared with marts.charge_lag)
    select
        encounter_months.gap_month,
        encounter_months.facility_id,
        lagged_charges.department_id,
        'late_charge' as gap_type,
        lagged_charges.encounter_id,
        lagged_charges.charge_id,
        lagged_charges.hcpcs_code as code,
        1 as charge_lines,
        lagged_charges.charge_amount as dollars_at_risk
    from lagged_charges
    inner join encounter_months
        on lagged_charges.encounter_id = encounter_months.encounter_id
    where lagged_charges.is_late

),

unioned as (

    select * from unsupported_charges
    union all
    select * from missed_charges
    union all
    select * from unsigned_notes
    union all
    select * from missing_elements
    union all
    select * from late_charges

),

gaps as (

    select
        encounter_id,
        gap_month,
        facility_id,
        department_id,
        gap_type,
        charge_id,
        code,
        charge_lines,
        {{ money('dollars_at_risk') }} as dollars_at_risk
    from unioned

),

with_key_only_rows as (

    select * from gaps
    {{- union_key_only_rows('changed_encounters', 'encounter_id', [
        ('gap_month', 'date'),
        ('facility_id', dbt.type_string()),
        ('department_id', dbt.type_string()),
        ('gap_type', dbt.type_string()),
        ('charge_id', dbt.type_string()),
        ('code', dbt.type_string()),
        ('charge_lines', dbt.type_bigint()),
        ('dollars_at_risk', type_money()),
    ]) }}

)

select
    gap_month,
    facility_id,
    department_id,
    gap_type,
    encounter_id,
    charge_id,
    code,
    charge_lines,
    dollars_at_risk,
    {{ consumed_build(ref('stg_ehr__encounters')) }} as encounters_build,
    {{ consumed_build(ref('stg_ehr__charges')) }} as charges_build,
    {{ consumed_build(ref('int_charges_lagged')) }} as lagged_charges_build,
    {{ next_build_number() }} as build_number
from with_key_only_rows
