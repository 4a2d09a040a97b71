"""Encounter versions (newest updated_at wins in any arrival order) and charge-id conflicts."""

from __future__ import annotations

from pathlib import Path

from .helpers import (
    CHG_COLUMNS,
    ENC_COLUMNS,
    assert_invariants,
    charge,
    csv_text,
    encounter,
    query,
    run_load,
    write,
)


def _versions():
    v1 = encounter(
        "E1", coder_id="", coded_at="", final_billed_at="", updated_at="2026-01-02T08:00:00"
    )
    v2 = encounter("E1", coder_id="C01", final_billed_at="", updated_at="2026-01-05T09:00:00")
    v3 = encounter("E1", coder_id="C02", updated_at="2026-01-06T09:00:00")
    return v1, v2, v3


def test_newest_version_wins_whatever_the_arrival_order(landing: Path, warehouse: Path):
    v1, v2, v3 = _versions()
    other = encounter("E2", updated_at="2026-01-03T00:00:00")
    # the newest version arrives first, the oldest last, each in its own nightly run
    write(landing, "encounters", "encounters_2026-01-06.csv", csv_text([v3], ENC_COLUMNS))
    run_load(landing, warehouse, "night1")
    write(landing, "encounters", "encounters_2026-01-02.csv", csv_text([v1, other], ENC_COLUMNS))
    run_load(landing, warehouse, "night2")
    write(landing, "encounters", "encounters_2026-01-05.csv", csv_text([v2], ENC_COLUMNS))
    run_load(landing, warehouse, "night3")
    assert query(warehouse, "select count(*) from raw.encounters where encounter_id = 'E1'") == [
        (3,)
    ]  # raw is append-only: every version is kept
    latest = query(
        warehouse,
        "select encounter_id, coder_id, updated_at::varchar from raw.encounters_latest "
        "order by encounter_id",
    )
    assert latest == [("E1", "C02", "2026-01-06 09:00:00"), ("E2", "C01", "2026-01-03 00:00:00")]
    assert_invariants(warehouse)


def test_versions_in_one_file_and_same_version_resent(landing: Path, warehouse: Path):
    v1, v2, v3 = _versions()
    write(landing, "encounters", "a.csv", csv_text([v2, v3, v1], ENC_COLUMNS))
    # the same version again (harmless) and the same version stamp with other content
    changed = dict(v3, department_id="SURG")
    write(landing, "encounters", "b.csv", csv_text([v3, changed], ENC_COLUMNS))
    summary = run_load(landing, warehouse)
    assert [(f.rows_loaded, f.rows_quarantined) for f in summary.files] == [(3, 0), (0, 2)]
    rows = query(
        warehouse,
        "select reason_code, reason from quarantine.encounters order by row_number",
    )
    assert rows == [
        ("duplicate_row", "encounter_id + updated_at: duplicate of a row already loaded"),
        ("conflict", "encounter_id + updated_at: conflicts with a row already loaded"),
    ]
    assert query(warehouse, "select department_id from raw.encounters_latest") == [("MED",)]
    manifest = query(warehouse, "select rows_duplicate from ops.load_manifest order by file_name")
    assert manifest == [(0,), (1,)]
    assert_invariants(warehouse)


def test_charge_conflicts_keep_the_first(landing: Path, warehouse: Path):
    write(landing, "charges", "c1.csv", csv_text([charge("C1"), charge("C2")], CHG_COLUMNS))
    run_load(landing, warehouse, "night1")
    write(
        landing,
        "charges",
        "c2.csv",
        csv_text(
            [
                charge("C1", charge_amount="999.00"),  # conflict with night 1
                charge("C2"),  # same content again: harmless duplicate
                charge("C3"),
                charge("C3", units="2"),  # conflict inside the file: first wins
                charge("C3"),  # duplicate of the first inside the file
            ],
            CHG_COLUMNS,
        ),
    )
    summary = run_load(landing, warehouse, "night2")
    (result,) = summary.files
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 1, 4)
    assert query(
        warehouse,
        "select charge_id, charge_amount::varchar, units from raw.charges order by charge_id",
    ) == [("C1", "125.50", 1), ("C2", "125.50", 1), ("C3", "125.50", 1)]
    rows = query(
        warehouse,
        "select line, charge_id, reason_code, reason from quarantine.charges order by line",
    )
    assert rows == [
        (2, "C1", "conflict", "charge_id: conflicts with a row already loaded"),
        (3, "C2", "duplicate_row", "charge_id: duplicate of a row already loaded"),
        (5, "C3", "conflict", "charge_id: conflicts with an earlier row in this file"),
        (6, "C3", "duplicate_row", "charge_id: duplicate of an earlier row in this file"),
    ]
    # the conflicting row is kept whole, typed, for the analyst to compare
    assert query(
        warehouse, "select charge_amount::varchar from quarantine.charges where line = 2"
    ) == [("999.00",)]
    assert query(
        warehouse, "select rows_duplicate from ops.load_manifest where file_name = 'c2.csv'"
    ) == [(2,)]
    assert_invariants(warehouse)


def test_same_values_written_differently_are_the_same_content(landing: Path, warehouse: Path):
    write(landing, "charges", "c1.csv", csv_text([charge("C1")], CHG_COLUMNS))
    write(
        landing,
        "charges",
        "c2.csv",
        csv_text(
            [charge("C1", charge_amount="125.5", modifiers=" 26 ; 59 ", units="1.0")], CHG_COLUMNS
        ),
    )
    run_load(landing, warehouse)
    assert query(warehouse, "select reason_code from quarantine.charges") == [("duplicate_row",)]


def test_lists_split_and_money_is_decimal(landing: Path, warehouse: Path):
    write(
        landing,
        "charges",
        "c.csv",
        csv_text([charge("C1", modifiers="", charge_amount="-40.10", cost_amount="")], CHG_COLUMNS),
    )
    write(landing, "encounters", "e.csv", csv_text([encounter("E1")], ENC_COLUMNS))
    run_load(landing, warehouse)
    assert query(
        warehouse,
        "select modifiers, billed_dx_codes, charge_amount, cost_amount, "
        "typeof(charge_amount), revenue_code from raw.charges",
    ) == [(None, ["I10"], __import__("decimal").Decimal("-40.10"), None, "DECIMAL(18,2)", "0300")]
    assert query(
        warehouse, "select documented_dx_codes, typeof(updated_at) from raw.encounters"
    ) == [(["I10", "E11.9"], "TIMESTAMP")]
