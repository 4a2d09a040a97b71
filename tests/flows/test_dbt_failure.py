"""A failed dbt test fails the nightly's build step with dbt's own one-line message.

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
