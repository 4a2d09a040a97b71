"""Benchmark: GX validation of a synthetic 15M-line charges batch vs its CSV load time.

Run on purpose: ``python tests/validate/bench_validation.py [--rows N] [--dir DIR]``.
Prints a JSON record; docs/benchmarks.md (validation section) quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SYNTHETIC_CHARGES = """
create or replace table raw.charges as
select
    'CH' || lpad(cast(i as varchar), 9, '0') as charge_id,
    'E' || lpad(cast(i // 15 as varchar), 8, '0') as encounter_id,
    'CL' || lpad(cast(i // 15 as varchar), 8, '0') as claim_id,
    'FAC' || (i % 7) as facility_id,
    'DEP' || (i % 23) as department_id,
    date '2026-01-01' + cast(i % 90 as integer) as service_date,
    date '2026-01-01' + cast(i % 90 + i % 5 as integer) as posted_date,
    'CDM' || (i % 5000) as cdm_code,
    lpad(cast(300 + i % 700 as varchar), 4, '0') as revenue_code,
    case i % 4 when 0 then '99213' when 1 then 'J1100' when 2 then '0042T' end as hcpcs_code,
    case when i % 3 = 0 then ['25', '59'] end as modifiers,
    cast(1 + i % 3 as integer) as units,
    case when i % 2 = 0 then ['E119', 'I10'] else ['R0789'] end as billed_dx_codes,
    cast(10 + (i % 1000) * 1.25 as decimal(18, 2)) as charge_amount,
    case when i % 2 = 0 then cast((i % 1000) * 0.4 as decimal(18, 2)) end as cost_amount,
    (['supplies', 'drugs', 'nursing', 'other'])[1 + i % 4] as cost_category,
    case when i % 2 = 0 then '1234567893' end as rendering_npi
from range({rows}) as t(i)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=15_000_000)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--skip-load", action="store_true", help="do not time the CSV load")
    parser.add_argument(
        "--lists",
        choices=("text", "list"),
        default="text",
        help="code lists as ';' text (as loaded from CSV) or DuckDB LISTs",
    )
    args = parser.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="rcm-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "warehouse.duckdb"
    if db.exists():
        db.unlink()
    con = duckdb.connect(str(db))
    con.execute("create schema raw")
    started = time.perf_counter()
    con.execute(SYNTHETIC_CHARGES.format(rows=args.rows))
    if args.lists == "text":
        con.execute(
            "create or replace table raw.charges as select * replace ("
            "array_to_string(billed_dx_codes, ';') as billed_dx_codes, "
            "array_to_string(modifiers, ';') as modifiers) from raw.charges"
        )
    record: dict = {
        "rows": args.rows,
        "lists": args.lists,
        "threads": con.execute("select current_setting('threads')").fetchone()[0],
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg()[0],
        "build_s": round(time.perf_counter() - started, 2),
    }

    if not args.skip_load:
        csv = work / "charges.csv"
        con.execute(f"copy raw.charges to '{csv}' (header)")
        record["csv_bytes"] = csv.stat().st_size
        started = time.perf_counter()
        con.execute(
            f"create or replace table raw.charges_loaded as "
            f"select * from read_csv('{csv}', header = true)"
        )
        record["load_read_csv_s"] = round(time.perf_counter() - started, 2)
        con.execute("drop table raw.charges_loaded")
        csv.unlink()

    started = time.perf_counter()
    from rcm.validate import validate_batch  # noqa: E402 - GX import timed on its own

    record["gx_import_s"] = round(time.perf_counter() - started, 2)
    for label, docs in (("first", True), ("warm", True), ("warm_no_docs", False)):
        started = time.perf_counter()
        outcome = validate_batch(
            con, "raw.charges", "charges", f"bench-{label}", update_data_docs=docs
        )
        record[f"validate_{label}_s"] = round(time.perf_counter() - started, 2)
        record["expectations"] = len(outcome.results)
        record["success"] = outcome.success
        record["failed"] = [r["column_name"] for r in outcome.failed()]

    # The same rules as one hand-written scan, for comparison.
    from expectations import charges
    from rcm.validate.runner import _column_types, batch_query

    types = _column_types(con, "raw.charges")
    query = batch_query("raw.charges", charges.check_columns(types), types)
    checks = [c.name for c in charges.check_columns(types)]
    aggregates = ", ".join(f"count(*) filter (where not {c})" for c in checks)
    started = time.perf_counter()
    con.execute(
        f"select count(*), count(*) - count(distinct charge_id), {aggregates} from ({query})"
    ).fetchall()
    record["hand_sql_one_scan_s"] = round(time.perf_counter() - started, 2)
    record["loadavg_at_end"] = os.getloadavg()[0]
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
