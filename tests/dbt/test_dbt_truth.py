"""End to end against the generator's injected truth: generate -> load -> dbt build -> marts.

`rcm generate` writes truth.json with every mart at its grain, computed from the labels it
injected (rcm/generate/truth.py), independently of the SQL. The marts built by dbt from the
loaded warehouse must equal it: counts exactly, money to the cent, rates to 1e-9.
Slow (a few hundred encounters, ~1 min): run with `pytest -m slow tests/dbt`.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest
from dbt_build import dbt_build
from marts_truth import GRAINS, assert_mart_equals_truth

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from rcm.generate import generate
    from rcm.load import load_landing, open_working_copy, publish
    from rcm.reference.warehouse import ensure_icd10cm

    tmp = tmp_path_factory.mktemp("dbt_truth")
    landing = tmp / "landing"
    generate(landing, encounters=300, seed=11, start_date=dt.date(2026, 1, 1), days=60)
    warehouse = tmp / "warehouse.duckdb"
    working = open_working_copy(warehouse)
    load_landing(landing, working, "truth-test")
    con = duckdb.connect(str(working))
    try:
        ensure_icd10cm(con)
    finally:
        con.close()
    publish(working, warehouse)
    dbt_build(warehouse, tmp)
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
