"""End to end against the generator's injected truth: generate -> load -> dbt build -> marts.

`rcm generate` writes truth.json with every mart at its grain, computed from the labels it
injected (rcm/generate/truth.py), independently of the SQL. The marts built by dbt from the
loaded warehouse must equal it: counts exactly, money to the cent, rates to 1e-9.
Slow (a few hundred encounters, ~1 min): run with `pytest -m slow tests/dbt`.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"

GRAINS = {
    "coding_accuracy": ["month", "facility_id", "coder_id"],
    "denial_rates": ["month", "facility_id", "payer_id"],
    "denials_by_reason": ["month", "payer_id", "carc_group", "carc_code", "denial_category"],
    "documentation_gaps": ["month", "facility_id", "department_id", "gap_type"],
    "facility_cost_burden": ["month", "facility_id", "department_id", "cost_category"],
}


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


def _key(row: dict, grain: list[str]) -> tuple:
    return tuple(None if row[c] is None else str(row[c]) for c in grain)


@pytest.mark.parametrize("mart", list(GRAINS))
def test_mart_equals_truth(built, mart):
    warehouse, truth = built
    grain = GRAINS[mart]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cursor = con.execute(f"select * from marts.{mart}")
        names = [d[0] for d in cursor.description]
        records = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        got = {_key(r, grain): r for r in records}
    finally:
        con.close()
    want = {_key(r, grain): r for r in truth[mart]}
    assert set(got) == set(want)
    for key, expected in want.items():
        for column, value in expected.items():
            if column in grain:
                continue
            if column.endswith("_cents"):
                actual = got[key][column.removesuffix("_cents")]
                actual = None if actual is None else int(Decimal(actual) * 100)
                assert actual == value, (key, column)
            elif isinstance(value, float) or isinstance(got[key][column], float):
                assert (got[key][column] is None) == (value is None), (key, column)
                if value is not None:
                    assert got[key][column] == pytest.approx(value, rel=1e-9, abs=1e-12), (
                        key,
                        column,
                    )
            else:
                assert got[key][column] == value, (key, column)
