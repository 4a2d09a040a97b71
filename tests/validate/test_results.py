"""Results land in ops.validation_results, one row per expectation per load, without PHI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pytest
import validate_samples as samples

from expectations import SUITES
from rcm.validate import (
    RESULTS_TABLE,
    ValidationOutcome,
    record_many,
    record_results,
    validate_batch,
)
from rcm.validate.results import RESULT_COLUMNS, RESULTS_DDL

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


def _row(load_id: str, n: int, **values) -> dict:
    row = {
        "load_id": load_id,
        "extract": "charges",
        "table_name": "scratch.load_batch",
        "suite_name": "charges_suite",
        "expectation_id": f"exp-{n}",
        "expectation_type": "expect_column_values_to_be_in_set",
        "column_name": "revenue_code",
        "severity": "critical",
        "success": True,
        "element_count": 1000 + n,
        "unexpected_count": 0,
        "unexpected_percent": 0.0,
        "observed_value": "0 unexpected of 1000 rows (0%)",
        "raised_exception": False,
        "exception_type": None,
        "description": "revenue codes are known",
        "run_at": dt.datetime(2026, 3, 1, 2, 0, n),
        "validated_with": "run:charges-chunk-1",
    }
    return row | values


def _outcome(load_id: str, rows: list[dict]) -> ValidationOutcome:
    return ValidationOutcome(
        load_id=load_id,
        extract="charges",
        table="scratch.load_batch",
        suite_name="charges_suite",
        success=all(r["success"] for r in rows),
        has_critical_failure=False,
        has_warning_failure=False,
        results=rows,
    )


def test_record_many_stores_every_outcome_row_exactly() -> None:
    """Several files' outcomes in one insert: every row as given, nulls, numpy numbers from
    GX and a raised exception included, in order; nothing for outcomes without rows."""
    first = [
        _row("load-1", 0),
        _row("load-1", 1, success=False, unexpected_count=7, unexpected_percent=0.7,
             severity="warning", observed_value="7 unexpected of 1001 rows (0.7%)"),
        _row("load-1", 2, element_count=None, unexpected_count=None, unexpected_percent=None,
             observed_value="error", raised_exception=True, exception_type="BinderException",
             success=False, column_name=None, description=None, validated_with=None),
    ]  # fmt: skip
    second = [
        _row("load-2", 3, element_count=np.int64(5), unexpected_count=np.int64(1),
             unexpected_percent=np.float64(20.0), success=np.bool_(False)),
    ]  # fmt: skip
    con = duckdb.connect()
    outcomes = [_outcome("load-1", first), _outcome("load-0", []), _outcome("load-2", second)]
    assert record_many(con, outcomes) == 4
    stored = con.execute(
        f"select {', '.join(RESULT_COLUMNS)} from {RESULTS_TABLE} order by expectation_id"
    ).fetchall()
    expected = [tuple(row[c] for c in RESULT_COLUMNS) for row in first + second]
    assert stored == expected
    assert [type(v) for v in stored[3][9:12]] == [int, int, float]
    assert record_many(con, []) == 0
    assert con.execute(f"select count(*) from {RESULTS_TABLE}").fetchone()[0] == 4


def test_one_insert_stores_what_a_statement_per_row_stored() -> None:
    """The frame insert against the insert it replaced (DuckDB binding each row's values
    as parameters): the same table, values and types, for rows of several outcomes with
    nulls, a whole number in the percent column and a raised exception; `record_results`
    is one outcome of it. (The row insert could not take numpy numbers; the frame can,
    tested above.)"""
    rows = [
        _row("load-1", 0),
        _row("load-1", 1, element_count=9, unexpected_count=2, unexpected_percent=22,
             success=False),
        _row("load-2", 2, element_count=None, unexpected_count=None, unexpected_percent=None,
             raised_exception=True, exception_type="IOException", description=None),
    ]  # fmt: skip
    by_row = duckdb.connect()
    by_row.execute("create schema ops")
    by_row.execute(RESULTS_DDL)
    placeholders = ", ".join("?" for _ in RESULT_COLUMNS)
    by_row.executemany(
        f"insert into {RESULTS_TABLE} ({', '.join(RESULT_COLUMNS)}) values ({placeholders})",
        [tuple(row[c] for c in RESULT_COLUMNS) for row in rows],
    )
    one, many = duckdb.connect(), duckdb.connect()
    assert record_results(one, _outcome("load-1", rows)) == 3
    assert record_many(many, [_outcome("load-1", rows[:2]), _outcome("load-2", rows[2:])]) == 3
    query = f"select * from {RESULTS_TABLE} order by expectation_id"
    expected = by_row.execute(query).fetchall()
    assert one.execute(query).fetchall() == expected
    assert many.execute(query).fetchall() == expected
    schema = f"describe {RESULTS_TABLE}"
    assert many.execute(schema).fetchall() == by_row.execute(schema).fetchall()
