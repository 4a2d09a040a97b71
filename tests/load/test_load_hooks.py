"""Validation hook (before the append), invariant enforcement, and I/O failures."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import rcm.load.loader as loader_module
from rcm.load import ManifestInvariantError, connect, load_landing, open_working_copy, publish

from .helpers import (
    CHG_COLUMNS,
    ENC_COLUMNS,
    assert_invariants,
    charge,
    csv_text,
    encounter,
    query,
    run_load,
    unreadable,
    write,
)


def _two_files(landing: Path) -> None:
    write(landing, "charges", "a.csv", csv_text([charge("C1"), charge("C2")], CHG_COLUMNS))
    write(
        landing,
        "charges",
        "b.csv",
        csv_text([charge("C3"), charge("C4", units="x"), charge("C5")], CHG_COLUMNS),
    )


def test_hook_sees_the_batch_before_it_is_appended(landing: Path, warehouse: Path):
    _two_files(landing)
    seen = []

    def validate_batch(con, table, extract, load_id):
        # like GX: read the batch through another cursor of the same connection
        batch = con.cursor().execute(f"select count(*) from {table}").fetchone()[0]
        in_raw = con.execute(
            "select count(*) from raw.charges where _load_id = ?", [load_id]
        ).fetchone()[0]
        columns = [r[0] for r in con.execute(f"describe {table}").fetchall()]
        # the batch lives in the in-memory database attached as scratch, not in the file
        (database,) = con.execute(
            "select database_name from duckdb_tables() where table_name = ?",
            [table.rpartition(".")[2]],
        ).fetchone()
        seen.append((extract, batch, in_raw, "_type_reason" in columns, database))
        return SimpleNamespace(success=True, warnings=["cost_amount: 2 rows above charge"])

    run_load(landing, warehouse, validate_batch=validate_batch)
    # the two files' rows in one call; a warning sends each file through the hook on its
    # own, so that the warning lands on the file that has it
    assert seen == [
        ("charges", 4, 0, False, "scratch"),
        ("charges", 2, 0, False, "scratch"),
        ("charges", 2, 0, False, "scratch"),
    ]
    manifest = query(
        warehouse,
        "select file_name, validation_success, warnings from ops.load_manifest order by 1",
    )
    assert manifest == [
        ("a.csv", True, ["cost_amount: 2 rows above charge"]),
        ("b.csv", True, ["cost_amount: 2 rows above charge"]),
    ]


def test_critical_validation_failure_quarantines_the_whole_file(landing: Path, warehouse: Path):
    _two_files(landing)

    def validate_batch(con, table, extract, load_id):
        if con.execute(f"select count(*) from {table} where charge_id = 'C3'").fetchone()[0]:
            return {"success": False, "reason": "charge_amount: sum outside expected range"}
        return True

    summary = run_load(landing, warehouse, validate_batch=validate_batch)
    assert [f.status for f in summary.files] == ["loaded", "quarantined"]
    assert query(warehouse, "select charge_id from raw.charges order by 1") == [("C1",), ("C2",)]
    rows = query(
        warehouse,
        "select coalesce(charge_id, '?'), reason_code, reason from quarantine.charges "
        "order by line",
    )
    assert rows == [
        ("C3", "file_quarantined", "validation: charge_amount: sum outside expected range"),
        ("C4", "bad_value", "units: not a whole number"),
        ("C5", "file_quarantined", "validation: charge_amount: sum outside expected range"),
    ]
    manifest = query(
        warehouse,
        "select status, validation_success, rows_read, rows_loaded, rows_quarantined "
        "from ops.load_manifest where file_name = 'b.csv'",
    )
    assert manifest == [("quarantined", False, 3, 0, 3)]
    assert query(warehouse, "select file_name, reason_code from quarantine.files") == [
        ("b.csv", "validation_failed")
    ]
    assert_invariants(warehouse)


def test_warning_only_verdict_loads(landing: Path, warehouse: Path):
    _two_files(landing)
    verdict = SimpleNamespace(success=False, critical=False, warnings=("units: unusual",))
    summary = run_load(landing, warehouse, validate_batch=lambda *a: verdict)
    assert [f.status for f in summary.files] == ["loaded", "loaded"]
    assert query(warehouse, "select distinct validation_success from ops.load_manifest") == [
        (False,)
    ]


def test_invariant_violation_rolls_the_chunk_back(landing: Path, warehouse: Path, monkeypatch):
    write(landing, "encounters", "e.csv", csv_text([encounter("E1")], ENC_COLUMNS))
    _two_files(landing)
    real = loader_module.quarantine_typed_rows

    def lose_rows(con, extract, table, override_reason=None):
        real(con, extract, table, override_reason)
        return 0  # pretend the rule-quarantined rows were not counted

    monkeypatch.setattr(loader_module, "quarantine_typed_rows", lose_rows)
    working = open_working_copy(warehouse)
    with pytest.raises(
        ManifestInvariantError,
        match=r"2 charges file\(s\) from charges/a.csv: rows_read 5 != rows_loaded 4 "
        r"\+ rows_quarantined 0",
    ):
        load_landing(landing, working, "run1")
    con = connect(working)
    try:
        # the encounters' chunk committed before; the charges' chunk (a.csv and b.csv, one
        # transaction) rolled back whole: no raw rows, no manifest rows
        assert con.execute("select file_name from ops.load_manifest").fetchall() == [("e.csv",)]
        assert con.execute("select count(*) from raw.charges").fetchone() == (0,)
        assert con.execute("select count(*) from quarantine.charges").fetchone() == (0,)
    finally:
        con.close()
    monkeypatch.setattr(loader_module, "quarantine_typed_rows", real)
    summary = load_landing(landing, working, "run1")  # both load on the next attempt
    assert [(f.file.file_name, f.status) for f in summary.files] == [
        ("a.csv", "loaded"),
        ("b.csv", "loaded"),
    ]
    publish(working, warehouse)
    assert_invariants(warehouse)


def test_io_error_is_failed_and_retried(landing: Path, warehouse: Path, monkeypatch):
    _two_files(landing)
    unreadable(monkeypatch, "b.csv")
    summary = run_load(landing, warehouse, "run1")
    assert [f.status for f in summary.files] == ["loaded", "failed"]
    assert query(warehouse, "select reason from ops.load_manifest where status = 'failed'") == [
        ("I/O error while loading (PermissionError)",)
    ]
    monkeypatch.undo()
    summary = run_load(landing, warehouse, "run2")
    assert [(f.file.file_name, f.status) for f in summary.files] == [("b.csv", "loaded")]
    assert_invariants(warehouse)


def test_remittances_wait_for_the_parser(landing: Path, warehouse: Path):
    write(landing, "remittances", "era_2026-01-02_001.835", "ISA*00*...~")
    calls = []

    def fake_loader(con, files, load_run_id):
        calls.append([f.file_name for f in files])
        return []

    summary = run_load(landing, warehouse, remittance_loader=fake_loader)
    assert calls == [["era_2026-01-02_001.835"]]
    assert summary.remittances_pending == []


def test_rcm_validate_outcome_shape_is_understood(landing: Path, warehouse: Path):
    """The colleague's ValidationOutcome: success, has_critical_failure, failed() rows."""
    _two_files(landing)

    class Outcome:
        def __init__(self, critical: bool):
            self.success = False
            self.has_critical_failure = critical
            self._rows = [
                {
                    "expectation_type": "expect_column_values_to_not_be_null",
                    "column_name": "claim_id",
                    "severity": "critical" if critical else "warning",
                    "unexpected_count": 2,
                    "success": False,
                },
            ]

        def failed(self):
            return self._rows

    def validate_batch(con, table, extract, load_id):
        return Outcome(
            critical="charge_id = 'C3'"
            and con.execute(f"select count(*) from {table} where charge_id = 'C3'").fetchone()[0]
            > 0
        )

    summary = run_load(landing, warehouse, validate_batch=validate_batch)
    assert [f.status for f in summary.files] == ["loaded", "quarantined"]
    assert summary.files[1].reason == (
        "validation: expect_column_values_to_not_be_null(claim_id): 2 unexpected"
    )
    assert query(warehouse, "select warnings from ops.load_manifest where file_name = 'a.csv'") == [
        (["validation warning: expect_column_values_to_not_be_null(claim_id): 2 unexpected"],)
    ]
    tables = query(warehouse, "select table_name from duckdb_tables() where schema_name = 'ops'")
    assert ("load_batch",) not in tables  # the hook's table never reaches the published file


def test_unexpected_database_error_is_phi_free(landing: Path, warehouse: Path, monkeypatch):
    import duckdb

    from rcm.load import LoadError

    _two_files(landing)

    def boom(con, extract):
        raise duckdb.ConversionException("Could not convert string 'MRN0042' to INT32")

    monkeypatch.setattr(loader_module, "_apply_rules", boom)
    working = open_working_copy(warehouse)
    with pytest.raises(LoadError) as info:
        load_landing(landing, working, "run1")
    assert "MRN0042" not in str(info.value)
    assert info.value.__suppress_context__
    assert (
        "loading 2 charges files (charges/a.csv to charges/b.csv) failed unexpectedly "
        "(ConversionException); nothing of this chunk was committed"
    ) == str(info.value)


ERA_OK = (
    "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROVIDER       *260201*0900*^*00501"
    "*000000206*0*T*:~GS*HP*PAYER*PROVIDER*20260201*0900*206*X*005010X221A1~ST*835*0001~"
    "BPR*H*0.00*C*NON************20260201~TRN*1*TRACE206*1512345678~DTM*405*20260131~"
    "N1*PR*ACME HEALTH PLAN*XV*ACME01~N1*PE*GENERAL HOSPITAL*XX*1234567893~LX*1~"
    "CLP*PCN-DEN*4*800.00*0.00**12*ICN206*13*1~SVC*HC:99215*800.00*0.00**1~DTM*472*20260113~"
    "CAS*CO*16*800.00~LQ*HE*MA130~SE*14*0001~GE*1*206~IEA*1*000000206~\n"
)


def test_remittances_go_through_the_835_parser(landing: Path, warehouse: Path):
    pytest.importorskip("rcm.era")
    write(landing, "remittances", "era_2026-02-01_001.835", ERA_OK)
    write(landing, "remittances", "era_copy.835", ERA_OK)
    write(landing, "remittances", "notes.txt", "this is not an 835 file\n")
    summary = run_load(landing, warehouse)
    statuses = {f.file.file_name: f.status for f in summary.files}
    assert statuses == {
        "era_2026-02-01_001.835": "loaded",
        "era_copy.835": "duplicate",
        "notes.txt": "quarantined",
    }
    assert query(warehouse, "select count(*), min(_source_file) from raw.era_claims") == [
        (1, "era_2026-02-01_001.835")
    ]
    manifest = query(
        warehouse,
        "select file_name, format, rows_read = rows_loaded + rows_quarantined "
        "from ops.load_manifest order by file_name",
    )
    assert all(ok for *_, ok in manifest)
    rerun = run_load(landing, warehouse, "run2")
    assert rerun.files == []
