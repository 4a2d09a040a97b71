"""Load throughput against DuckDB's own read_csv floor (run on purpose: pytest -m benchmark).

Size: RCM_BENCH_ENCOUNTERS (default 100,000 -> 1.5M charge lines, ~220 MB) over
RCM_BENCH_DAYS (default 90) daily files per extract. The full size of issue #4 is
RCM_BENCH_ENCOUNTERS=1000000 (15M charge lines, ~2.2 GB); figures in docs/loading.md.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import pytest

from rcm.load.extracts import EXTRACTS

from .helpers import run_load
from .synth import write_landing

pytestmark = pytest.mark.benchmark


def _floor(landing: Path, db: Path) -> float:
    """Typed read_csv of every file into tables of a fresh database file, + checkpoint."""
    con = duckdb.connect(str(db))
    started = time.perf_counter()
    for name, extract in EXTRACTS.items():
        columns = "{" + ", ".join(f"'{c.name}': '{c.read_type}'" for c in extract.columns) + "}"
        con.execute(
            f"create table {name} as select * from read_csv('{landing}/{name}/*.csv', "
            f"columns = {columns}, header = true, auto_detect = false, delim = ',', "
            "quote = '\"', escape = '\"')"
        )
    con.execute("checkpoint")
    con.close()
    return time.perf_counter() - started


def test_load_close_to_read_csv_floor(tmp_path: Path) -> None:
    encounters = int(os.environ.get("RCM_BENCH_ENCOUNTERS", "100000"))
    days = int(os.environ.get("RCM_BENCH_DAYS", "90"))
    landing = tmp_path / "landing"
    size = write_landing(landing, encounters, days)
    floor = _floor(landing, tmp_path / "floor.duckdb")
    started = time.perf_counter()
    summary = run_load(landing, tmp_path / "wh" / "warehouse.duckdb", "bench")
    load = time.perf_counter() - started
    started = time.perf_counter()
    rerun = run_load(landing, tmp_path / "wh" / "warehouse.duckdb", "bench-rerun")
    rerun_seconds = time.perf_counter() - started
    print(
        f"\n{size['files']} files, {size['bytes'] / 1e9:.2f} GB, {summary.rows_loaded} rows: "
        f"read_csv floor {floor:.1f}s, load+publish {load:.1f}s ({load / floor:.1f}x), "
        f"rerun {rerun_seconds:.1f}s"
    )
    assert summary.count("loaded") == size["files"]
    assert rerun.files == []
