"""End to end against the generator's injected truth: generate -> load -> dbt build -> marts.

`rcm generate` writes truth.json with every mart at its grain, computed from the labels it
injected (rcm/generate/truth.py), independently of the SQL. The marts built by dbt from the
loaded warehouse must equal it: counts exactly, money to the cent, rates to 1e-9.
Slow (a few hundred encounters, ~1 min): run with `pytest -m slow tests/dbt`.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from marts_truth import GRAINS, assert_mart_equals_truth

pytestmark = [pytest.mark.slow, pytest.mark.integration]

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.adapters.factory import reset_adapters
    from dbt.cli.main import dbtRunner

    from rcm.generate import generate
    from rcm.load import load_landing, open_working_copy, publish
    from rcm.reference.icd10cm import code_table

    tmp = tmp_path_factory.mktemp("dbt_truth")
    landing = tmp / "landing"
    generate(landing, encounters=300, seed=11, start_date=dt.date(2026, 1, 1), days=60)
    warehouse = tmp / "warehouse.duckdb"
    working = open_working_copy(warehouse)
    load_landing(landing, working, "truth-test")
    con = duckdb.connect(str(working))
    try:
        con.execute("create schema if not exists ref")
        con.register("icd_frame", code_table().to_arrow())
        con.execute("create table if not exists ref.icd10cm as select * from icd_frame")
    finally:
        con.close()
    publish(working, warehouse)

    mp = pytest.MonkeyPatch()
    mp.setenv("RCM_WAREHOUSE", str(warehouse))
    try:
        result = dbtRunner().invoke(
            [
                "build",
                "--project-dir",
                str(DBT_DIR),
                "--profiles-dir",
                str(DBT_DIR),
                "--target-path",
                str(tmp / "target"),
                "--log-path",
                str(tmp / "logs"),
                "--no-partial-parse",
                "--threads",
                "4",
                "--quiet",
            ]
        )
    finally:
        mp.undo()
        DuckDBConnectionManager.close_all_connections()
        reset_adapters()
    assert result.success, f"dbt build failed: {result.exception}"
    truth = json.loads((landing / "truth.json").read_text())
    return warehouse, truth


@pytest.mark.parametrize("mart", list(GRAINS))
def test_mart_equals_truth(built, mart):
    warehouse, truth = built
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert_mart_equals_truth(con, mart, truth)
    finally:
        con.close()
