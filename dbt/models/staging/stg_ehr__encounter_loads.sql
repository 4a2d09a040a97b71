-- One row per load of raw.encounters, with the build of this table that first saw it: the
-- ledger stg_ehr__encounters reads its new loads from. That table keeps one version per
-- encounter, so a load whose versions were all superseded leaves it and its own load ids
-- cannot tell which loads it has read; this append-only table can (is_new_load, exact).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail'
) }}

with new_loads as (

    select distinct cast(_load_id as {{ dbt.type_string() }}) as load_id
    from {{ source('raw', 'encounters') }}
    where {{ is_new_load('_load_id', [source('raw', 'encounters')]) }}

)

select
    load_id,
    {{ next_build_number() }} as build_number
from new_loads
