"""Benchmark: fixed per-call overhead of validate_batch on a small (50-row) batch.

Run on purpose: ``python tests/validate/bench_overhead.py [--calls N] [--docs]``.
Mimics the loader: each call validates ``ops.load_batch`` (re-created per file) for the
charges, encounters and remittances extracts in turn, on the loader's open connection, with
a new connection every few calls (``load_one`` opens one per file). Prints a JSON record;
docs/validation.md (per-call overhead) quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import validate_samples  # noqa: E402

ROWS = 50


def _warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    validate_samples.create_encounters(con)
    validate_samples.create_charges(con)
    validate_samples.create_remittances(con)
    for table, key in (("raw.charges", "charge_id"), ("raw.encounters", "encounter_id")):
        # 24 good rows -> 50, with fresh keys
        for tag in ("X", "Y"):
            con.execute(
                f"insert into {table} select * replace ({key} || '{tag}' as {key}) from {table} "
                f"where {key} not like '%X' limit {ROWS - 24 if tag == 'Y' else 24}"
            )
        con.execute(f"delete from {table} where rowid not in (select rowid from {table} limit 50)")
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--docs", action="store_true", help="update Data Docs on every call")
    parser.add_argument("--connections-every", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rcm-overhead-"))
    db = work / "warehouse.duckdb"
    _warehouse(db)

    started = time.perf_counter()
    from rcm.validate import runner, validate_batch  # GX import timed on its own

    record: dict = {"rows": ROWS, "cpus": os.cpu_count(), "loadavg": os.getloadavg()[0]}
    record["gx_import_s"] = round(time.perf_counter() - started, 2)
    sources = {
        "charges": "raw.charges",
        "encounters": "raw.encounters",
        "remittances": "raw.remit_claims",
    }
    timings: dict[str, list[float]] = {extract: [] for extract in sources}
    con = None
    for call in range(args.calls):
        if con is None or call % args.connections_every == 0:
            if con is not None:
                con.close()
            con = duckdb.connect(str(db))
        extract = list(sources)[call % len(sources)]
        table = "ops.load_batch" if extract != "remittances" else sources[extract]
        con.execute("create schema if not exists ops")
        if extract != "remittances":
            con.execute(f"create or replace table ops.load_batch as from {sources[extract]}")
        t0 = time.perf_counter()
        outcome = validate_batch(
            con,
            table,
            extract,
            f"bench-{call}",
            gx_root=work / "gx_root",
            update_data_docs=args.docs,
        )
        timings[extract].append(time.perf_counter() - t0)
        assert outcome.success, (extract, [r["description"] for r in outcome.failed()])
    con.close()
    all_calls = [t for extract in sources for t in timings[extract]]
    record["first_call_s"] = round(timings["charges"][0], 3)
    record["per_extract_first_s"] = {e: round(t[0], 3) for e, t in timings.items() if t}
    record["per_extract_median_warm_s"] = {
        e: round(statistics.median(t[1:]), 3) for e, t in timings.items() if len(t) > 1
    }
    record["median_warm_s"] = round(
        statistics.median([t for e in sources for t in timings[e][1:]]), 3
    )
    record["total_s"] = round(sum(all_calls), 2)
    record["calls"] = args.calls
    record["docs_per_call"] = args.docs
    build = getattr(runner, "build_data_docs", None)
    if build is not None and not args.docs:
        t0 = time.perf_counter()
        index = build(work / "gx_root")
        record["build_data_docs_once_s"] = round(time.perf_counter() - t0, 3)
        record["data_docs_index_exists"] = Path(index).is_file()
    stats = getattr(runner, "STATS", None)
    if stats is not None:
        record["registrations"] = dict(stats)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
