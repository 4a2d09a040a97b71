"""The nightly flow end to end on generated data, in one Prefect test harness.

Generate a small hospital, run the flow, and check: every file loaded with the manifest
invariant, every expectation recorded, the marts equal to the generator's truth.json, the
run logged; then a second run over the same landing folder loads nothing and changes no mart.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from marts_truth import GRAINS, assert_mart_equals_truth

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def nightly_run(tmp_path_factory, prefect_harness):
    from flows.nightly import nightly
    from rcm.generate import generate

    tmp = tmp_path_factory.mktemp("nightly")
    landing = tmp / "landing"
    generate(landing, encounters=150, seed=5, start_date=dt.date(2026, 2, 1), days=30)
    warehouse = tmp / "warehouse.duckdb"
    first = nightly(landing=str(landing), warehouse=str(warehouse))
    truth = json.loads((landing / "truth.json").read_text())
    return landing, warehouse, first, truth


def _query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_file_loaded_and_counted(nightly_run) -> None:
    landing, warehouse, first, _ = nightly_run
    files = [p for p in landing.rglob("*") if p.is_file() and p.name != "truth.json"]
    rows = _query(
        warehouse,
        "select status, rows_read, rows_loaded, rows_quarantined from ops.load_manifest",
    )
    assert len(rows) == len(files)
    assert {status for status, *_ in rows} == {"loaded"}
    assert all(read == loaded + quarantined for _, read, loaded, quarantined in rows)
    assert first.status == "success" and first.count("loaded") == len(files)


def test_every_load_validated(nightly_run) -> None:
    _, warehouse, _, _ = nightly_run
    (unvalidated,) = _query(
        warehouse,
        "select count(*) from ops.load_manifest m "
        "where not exists (select 1 from ops.validation_results v where v.load_id = m.load_id)",
    )[0]
    assert unvalidated == 0


@pytest.mark.parametrize("mart", list(GRAINS))
def test_marts_equal_truth(nightly_run, mart) -> None:
    _, warehouse, _, truth = nightly_run
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert_mart_equals_truth(con, mart, truth)
    finally:
        con.close()


def test_rerun_loads_nothing_and_keeps_the_marts(nightly_run) -> None:
    from flows.nightly import nightly

    landing, warehouse, _, truth = nightly_run
    before = _query(warehouse, "select * from marts.denial_rates order by all")
    second = nightly(landing=str(landing), warehouse=str(warehouse))
    assert second.count("loaded") == 0
    assert _query(warehouse, "select * from marts.denial_rates order by all") == before
    runs = _query(warehouse, "select status, files_loaded from ops.run_log order by started_at")
    assert runs == [("success", first_files(landing)), ("success", 0)]


def first_files(landing: Path) -> int:
    return sum(1 for p in landing.rglob("*") if p.is_file() and p.name != "truth.json")
