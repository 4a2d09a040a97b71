"""The build step: a failed dbt test fails it with dbt's own one-line message; a first night
without any 835 builds.

The tiny hand-made warehouse of the dbt tests, with one charge whose `charge_id` is null:
the source test `not_null` on raw.charges.charge_id fails, so `build_models` (the flow's
`dbt build` step) raises with that test named, and the counts the run log keeps show the
failure and the models dbt skipped because of it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.integration

TESTS = Path(__file__).resolve().parents[1]


def test_failed_dbt_test_fails_the_build_with_its_message(tmp_path, prefect_harness) -> None:
    sys.path.insert(0, str(TESTS / "dbt"))
    from dbt_warehouse_fixture import build_warehouse

    from flows.nightly import DbtBuildFailed, build_models

    working = tmp_path / "warehouse.duckdb.building"
    build_warehouse(working)
    con = duckdb.connect(str(working))
    con.execute(
        "update raw.charges set charge_id = null "
        "where _source_line = (select min(_source_line) from raw.charges)"
    )
    con.close()
    with pytest.raises(DbtBuildFailed) as caught:
        build_models(working)
    message = str(caught.value)
    assert "source_not_null_raw_charges_charge_id" in message, message
    assert "\n" not in message
    counts = caught.value.counts
    assert counts["tests_failed"] >= 1 and counts["models_passed"] > 0
    assert counts["skipped"] > 0  # what depends on the failed source is not built


@pytest.mark.slow  # a whole dbt build (~1.5 min); run with `make test-all`
def test_a_first_night_without_remittances_builds(tmp_path, prefect_harness) -> None:
    """No 835 has arrived yet: raw.era_* exist (empty) and every model and test builds."""
    import datetime as dt

    from flows.nightly import build_models
    from rcm.generate import generate
    from rcm.load import load_landing, open_working_copy, release_working_copy
    from rcm.reference.warehouse import ensure_icd10cm

    landing = tmp_path / "landing"
    summary = generate(landing, encounters=40, seed=3, start_date=dt.date(2026, 4, 1), days=4)
    assert summary.remitted_claims == 0 and not list((landing / "remittances").glob("*"))
    warehouse = tmp_path / "warehouse.duckdb"
    working = open_working_copy(warehouse)
    try:
        load_landing(landing, working, "first-night")
        con = duckdb.connect(str(working))
        ensure_icd10cm(con)  # the flow's reference step
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'raw'"
            ).fetchall()
        }
        con.close()
        assert {"era_claims", "era_service_lines", "era_claim_adjustments"} <= tables
        counts = build_models(working)
        assert counts["models_failed"] == 0 and counts["tests_failed"] == 0
        assert counts["models_passed"] > 0
    finally:
        release_working_copy(warehouse)
