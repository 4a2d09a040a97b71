"""Synthetic landing folders at benchmark scale, written by DuckDB (no Python row loops).

Used by test_load_benchmark.py until `rcm generate` can produce the full-size folder.
Shapes follow the contract: one encounters and one charges CSV per day; encounters appear in
several versions (about 1.3 rows per encounter), charges ~15 per encounter.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

ENCOUNTERS_SQL = """
select
    'E' || lpad(id::varchar, 8, '0') as encounter_id,
    'MRN' || lpad((hash(id) % 700000)::varchar, 7, '0') as patient_id,
    (date '1940-01-01' + (hash(id * 7) % 25000)::int) as patient_birth_date,
    ['F', 'M', 'U'][1 + (hash(id * 3) % 3)::int] as patient_sex,
    'FAC' || (1 + hash(id * 5) % 8)::varchar as facility_id,
    'D' || lpad((hash(id * 11) % 40)::varchar, 3, '0') as department_id,
    ['inpatient', 'outpatient', 'emergency', 'observation', 'ambulatory_surgery']
        [1 + (hash(id * 13) % 5)::int] as encounter_type,
    day as admit_date,
    day + (hash(id * 17) % 6)::int as discharge_date,
    '1234567893' as attending_npi,
    'PAY' || (1 + hash(id * 19) % 12)::varchar as primary_payer_id,
    case when version = 1 then null else 'CODER' || (hash(id) % 60)::varchar end as coder_id,
    'I10;E11.9;Z79.4' as documented_dx_codes,
    '99223;36415' as documented_px_codes,
    case when version = 1 then null else (day + 2)::timestamp + interval 9 hour end
        as note_signed_at,
    case when version = 1 then null else (day + 3)::timestamp + interval 10 hour end as coded_at,
    null::timestamp as final_billed_at,
    (day + version)::timestamp + interval 8 hour as updated_at
from (
    select range as id, {start}::date + (range % {days})::int as day,
           1 + (case when hash(range) % 10 < 3 then 1 else 0 end) as version
    from range({n})
    union all
    select range, {start}::date + (range % {days})::int, 1
    from range({n}) where hash(range) % 10 < 3
)
where day + version = {start}::date + {day}
"""

CHARGES_SQL = """
select
    'CH' || lpad(id::varchar, 10, '0') as charge_id,
    'E' || lpad((id // 15)::varchar, 8, '0') as encounter_id,
    'CLM' || lpad((id // 15)::varchar, 8, '0') as claim_id,
    'FAC' || (1 + hash(id // 15 * 5) % 8)::varchar as facility_id,
    'D' || lpad((hash(id) % 40)::varchar, 3, '0') as department_id,
    {start}::date + {day} - 1 as service_date,
    {start}::date + {day} as posted_date,
    'CDM' || lpad((hash(id) % 5000)::varchar, 5, '0') as cdm_code,
    lpad((250 + hash(id) % 700)::varchar, 4, '0') as revenue_code,
    lpad((80000 + hash(id * 3) % 19999)::varchar, 5, '0') as hcpcs_code,
    case when id % 7 = 0 then '26;59' end as modifiers,
    1 + (hash(id * 5) % 4)::int as units,
    'I10;E11.9' as billed_dx_codes,
    ((hash(id * 7) % 500000)::decimal(18, 2) / 100) as charge_amount,
    case when id % 3 = 0 then ((hash(id * 7) % 500000)::decimal(18, 2) / 400) end as cost_amount,
    ['supplies', 'drugs', 'nursing', 'surgical_instruments', 'room_and_board', 'professional',
     'other'][1 + (hash(id * 11) % 7)::int] as cost_category,
    '1234567893' as rendering_npi
from range({lo}, {hi}) as t(id)
"""


def write_landing(out: Path, encounters: int, days: int, start: str = "2026-01-01") -> dict:
    """Write <out>/encounters/*.csv and <out>/charges/*.csv; returns sizes."""
    out = Path(out)
    (out / "encounters").mkdir(parents=True, exist_ok=True)
    (out / "charges").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    charges = encounters * 15
    per_day = -(-charges // days)
    for day in range(days):
        name = f"{day:03d}"
        enc = ENCOUNTERS_SQL.format(n=encounters, days=days, day=day, start=repr(start))
        con.execute(
            f"copy ({enc}) to '{out}/encounters/encounters_day{name}.csv' (header, delimiter ',')"
        )
        chg = CHARGES_SQL.format(
            lo=day * per_day, hi=min(charges, (day + 1) * per_day), day=day, start=repr(start)
        )
        con.execute(
            f"copy ({chg}) to '{out}/charges/charges_day{name}.csv' (header, delimiter ',')"
        )
    con.close()
    files = list(out.rglob("*.csv"))
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}
