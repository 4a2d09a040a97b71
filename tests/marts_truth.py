"""Compare a built mart with the generator's truth.json at the mart's grain.

truth.json is computed from the labels the generator injected (rcm/generate/truth.py),
independently of the SQL under test: counts must be equal, money equal to the cent, rates
equal to 1e-9.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

GRAINS = {
    "coding_accuracy": ["month", "facility_id", "coder_id"],
    "denial_rates": ["month", "facility_id", "payer_id"],
    "denials_by_reason": ["month", "payer_id", "carc_group", "carc_code", "denial_category"],
    "documentation_gaps": ["month", "facility_id", "department_id", "gap_type"],
    "facility_cost_burden": ["month", "facility_id", "department_id", "cost_category"],
}


def _key(row: dict, grain: list[str]) -> tuple:
    return tuple(None if row[c] is None else str(row[c]) for c in grain)


def assert_mart_equals_truth(con: duckdb.DuckDBPyConnection, mart: str, truth: dict) -> None:
    grain = GRAINS[mart]
    cursor = con.execute(f"select * from marts.{mart}")
    names = [d[0] for d in cursor.description]
    got = {
        _key(r, grain): r for r in (dict(zip(names, row, strict=True)) for row in cursor.fetchall())
    }
    want = {_key(r, grain): r for r in truth[mart]}
    assert set(got) == set(want), mart
    for key, expected in want.items():
        for column, value in expected.items():
            if column in grain:
                continue
            if column.endswith("_cents"):
                actual = got[key][column.removesuffix("_cents")]
                actual = None if actual is None else int(Decimal(actual) * 100)
                assert actual == value, (mart, key, column)
            elif isinstance(value, float) or isinstance(got[key][column], float):
                assert (got[key][column] is None) == (value is None), (mart, key, column)
                if value is not None:
                    assert got[key][column] == pytest.approx(value, rel=1e-9, abs=1e-12), (
                        mart, key, column,
                    )  # fmt: skip
            else:
                assert got[key][column] == value, (mart, key, column)
