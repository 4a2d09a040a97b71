"""Results land in ops.validation_results, one row per expectation per load, without PHI."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import validate_samples as samples

from expectations import SUITES
from rcm.validate import RESULTS_TABLE, record_results, validate_batch
from rcm.validate.results import RESULT_COLUMNS

PHI_MARKERS = (
    samples.PLANTED_PATIENT_ID,
    samples.PLANTED_PATIENT_NAME,
    samples.PLANTED_BIRTH_DATE,
    samples.PLANTED_CLAIM_ID,
)


def test_one_row_per_expectation_per_load(
    warehouse: duckdb.DuckDBPyConnection, gx_root: Path
) -> None:
    for load_id in ("load-1", "load-2"):
        for extract, table in (
            ("encounters", "raw.encounters"),
            ("charges", "raw.charges"),
            ("remittances", "raw.remit_claims"),
        ):
            outcome = validate_batch(
                warehouse, table, extract, load_id, gx_root=gx_root, update_data_docs=False
            )
            assert record_results(warehouse, outcome) == len(outcome.results)
    counts = dict(
        warehouse.execute(
            f"select extract || '/' || load_id, count(*) from {RESULTS_TABLE} group by 1"
        ).fetchall()
    )
    for load_id in ("load-1", "load-2"):
        for extract, module in SUITES.items():
            assert counts[f"{extract}/{load_id}"] == len(module.build_suite().expectations)
    columns = [r[0] for r in warehouse.execute(f"describe {RESULTS_TABLE}").fetchall()]
    assert tuple(columns) == RESULT_COLUMNS
    assert (
        warehouse.execute(
            f"select count(*) from {RESULTS_TABLE} where severity not in ('critical', 'warning')"
        ).fetchone()[0]
        == 0
    )


def test_no_phi_in_results_or_data_docs(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Defects on the planted patient's rows: results and GX artifacts hold no values."""
    warehouse.execute(f"""
        update raw.encounters set encounter_id = 'E0002', patient_sex = 'X',
            patient_birth_date = '2999-01-01', attending_npi = '{samples.PLANTED_PATIENT_ID}'
        where patient_id = '{samples.PLANTED_PATIENT_ID}';
        update raw.encounters set patient_id = null where encounter_id = 'E0003';
        update raw.charges set charge_amount = '{samples.PLANTED_PATIENT_NAME}',
            revenue_code = '{samples.PLANTED_BIRTH_DATE}'
        where claim_id = '{samples.PLANTED_CLAIM_ID}';
        update raw.remit_claims set paid_amount = 1.00, claim_status_code = '99'
        where patient_control_number = '{samples.PLANTED_CLAIM_ID}';
    """)
    gx_root = tmp_path / "gx_phi"
    outcomes = [
        validate_batch(warehouse, table, extract, "phi-check", gx_root=gx_root)
        for extract, table in (
            ("encounters", "raw.encounters"),
            ("charges", "raw.charges"),
            ("remittances", "raw.remit_claims"),
        )
    ]
    assert all(o.has_critical_failure for o in outcomes)
    for outcome in outcomes:
        record_results(warehouse, outcome)
    stored = warehouse.execute(f"select * from {RESULTS_TABLE}").fetchall()
    text = "\n".join(repr(row) for row in stored)
    text += "\n".join(repr(o.results) for o in outcomes)
    for path in gx_root.rglob("*"):
        if path.is_file():
            text += path.read_text(errors="ignore")
    assert "index.html" in " ".join(str(p) for p in gx_root.rglob("index.html"))
    for marker in PHI_MARKERS:
        assert marker not in text, f"PHI marker {marker!r} leaked"


def test_unknown_extract_is_a_one_line_error(warehouse: duckdb.DuckDBPyConnection) -> None:
    from rcm.errors import RcmError

    with pytest.raises(RcmError, match="no expectation suite"):
        validate_batch(warehouse, "raw.charges", "lab_results", "x")
