"""Encounter and charge files load in chunks: one rule pass, one GX run, one transaction.

The outcome must be the one of loading file after file (rcm.load.loader.load_files): these
tests compare a chunked load with a load in chunks of one file, and check the hook calls,
the per-file validation results and the re-read of the files after a critical failure.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import rcm.load.loader as loader_module

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

#: what a load produced, without run ids, load ids or timings
STATE_SQL = {
    "manifest": """
        select m.file_path, m.status, m.rows_read, m.rows_loaded, m.rows_quarantined,
               m.rows_duplicate, m.rows_warned, m.reason_code, m.reason, m.warnings,
               m.validation_success, m.source_lines_exact, first.file_path as duplicate_of
        from ops.load_manifest m
        left join ops.load_manifest first on first.load_id = m.duplicate_of_load_id
        order by all
    """,
    "raw.charges": "select * exclude (_load_id) from raw.charges order by all",
    "raw.encounters": "select * exclude (_load_id) from raw.encounters order by all",
    "quarantine.charges": "select * exclude (load_id) from quarantine.charges order by all",
    "quarantine.encounters": "select * exclude (load_id) from quarantine.encounters order by all",
    "quarantine.files": "select * exclude (load_id, quarantined_at) from quarantine.files "
    "order by all",
}


def load_state(warehouse: Path) -> dict[str, list[tuple]]:
    return {name: query(warehouse, sql) for name, sql in STATE_SQL.items()}


def file_by_file(monkeypatch) -> None:
    """Chunks of one file: the loader as it was before chunks."""
    monkeypatch.setattr(loader_module, "CHUNK_BYTES", 1)


def _cross_file_landing(landing: Path) -> None:
    """Rows repeated within and across files: duplicates and conflicts both ways."""
    write(
        landing,
        "charges",
        "a.csv",
        csv_text([charge("C1"), charge("C2"), charge("C2")], CHG_COLUMNS),
    )
    write(
        landing,
        "charges",
        "b.csv",
        csv_text(
            [
                charge("C1"),  # same as a.csv: duplicate of a row already loaded
                charge("C2", units="3"),  # conflicts with a.csv's
                charge("C3"),
                charge("C3", units="2"),  # conflicts with the row above, in this file
                charge("C4", units="x"),  # does not type
            ],
            CHG_COLUMNS,
        ),
    )
    write(landing, "charges", "c.csv", csv_text([charge("C3"), charge("C5")], CHG_COLUMNS))


def test_a_chunk_decides_every_row_as_file_after_file(tmp_path: Path, landing: Path, monkeypatch):
    _cross_file_landing(landing)
    chunked = run_load(landing, tmp_path / "chunked" / "wh.duckdb")
    assert [f.status for f in chunked.files] == ["loaded"] * 3
    file_by_file(monkeypatch)
    one_by_one = run_load(landing, tmp_path / "single" / "wh.duckdb")
    state = load_state(tmp_path / "chunked" / "wh.duckdb")
    assert state == load_state(tmp_path / "single" / "wh.duckdb")
    assert [f.rows_loaded for f in chunked.files] == [f.rows_loaded for f in one_by_one.files]
    reasons = query(
        tmp_path / "chunked" / "wh.duckdb",
        "select file_name, row_number, reason_code, reason from quarantine.charges "
        "order by file_name, row_number",
    )
    assert reasons == [
        ("a.csv", 3, "duplicate_row", "charge_id: duplicate of an earlier row in this file"),
        ("b.csv", 1, "duplicate_row", "charge_id: duplicate of a row already loaded"),
        ("b.csv", 2, "conflict", "charge_id: conflicts with a row already loaded"),
        ("b.csv", 4, "conflict", "charge_id: conflicts with an earlier row in this file"),
        ("b.csv", 5, "bad_value", "units: not a whole number"),
        ("c.csv", 1, "duplicate_row", "charge_id: duplicate of a row already loaded"),
    ]
    assert_invariants(tmp_path / "chunked" / "wh.duckdb")


def test_critical_failure_mid_chunk_reads_the_later_files_again(
    tmp_path: Path, landing: Path, monkeypatch
):
    """b.csv fails critically: a.csv loads, b.csv is quarantined whole, and c.csv (whose C3
    the rules first compared with b.csv's C3) is read again, so its C3 loads."""
    write(landing, "charges", "a.csv", csv_text([charge("C1"), charge("C2")], CHG_COLUMNS))
    write(landing, "charges", "b.csv", csv_text([charge("BAD"), charge("C3")], CHG_COLUMNS))
    write(landing, "charges", "c.csv", csv_text([charge("C3"), charge("C4")], CHG_COLUMNS))
    write(landing, "charges", "d.csv", csv_text([charge("C9")], CHG_COLUMNS))
    unreadable(monkeypatch, "d.csv")
    calls = []

    def validate_batch(con, table, extract, load_id):
        ids = sorted(
            r[0] for r in con.cursor().execute(f"select charge_id from {table}").fetchall()
        )
        calls.append((load_id.partition(":")[2], ids))
        if "BAD" in ids:
            return {"success": False, "reason": "charge_id: a planted defect"}
        return True

    warehouse = tmp_path / "chunked" / "wh.duckdb"
    summary = run_load(landing, warehouse, "run1", validate_batch=validate_batch)
    # d.csv failed (I/O) while the chunk was read: final at once, not read again
    assert [(f.file.file_name, f.status) for f in summary.files] == [
        ("a.csv", "loaded"),
        ("b.csv", "quarantined"),
        ("d.csv", "failed"),
        ("c.csv", "loaded"),
    ]
    tag = {f.load_id.partition(":")[2]: f.file.file_name for f in summary.files if f.load_id}
    a_tag = summary.files[0].load_id.partition(":")[2]  # the chunk is named after a.csv
    assert [(tag.get(load_id, load_id), ids) for load_id, ids in calls] == [
        ("charges-chunk-" + a_tag, ["BAD", "C1", "C2", "C3", "C4"]),  # c.csv's C3: ruled out
        ("a.csv", ["C1", "C2"]),
        ("b.csv", ["BAD", "C3"]),  # critical: c.csv goes back into the queue
        ("c.csv", ["C3", "C4"]),
    ]
    assert query(warehouse, "select charge_id from raw.charges order by 1") == [
        ("C1",),
        ("C2",),
        ("C3",),
        ("C4",),
    ]
    assert query(
        warehouse, "select file_name, charge_id, reason from quarantine.charges order by 2"
    ) == [
        ("b.csv", "BAD", "validation: charge_id: a planted defect"),
        ("b.csv", "C3", "validation: charge_id: a planted defect"),
    ]
    assert_invariants(warehouse)
    file_by_file(monkeypatch)
    reference = tmp_path / "single" / "wh.duckdb"
    run_load(landing, reference, "run1", validate_batch=validate_batch)
    assert load_state(warehouse) == load_state(reference)


def test_a_chunk_follows_the_size_limit_and_one_extract(landing: Path, warehouse: Path):
    write(landing, "encounters", "e1.csv", csv_text([encounter("E1")], ENC_COLUMNS))
    for day in range(1, 6):
        write(landing, "charges", f"c{day}.csv", csv_text([charge(f"C{day}")], CHG_COLUMNS))
    size = max(p.stat().st_size for p in landing.rglob("*.csv"))  # two files fit a chunk
    calls = []

    def validate_batch(con, table, extract, load_id):
        rows = con.cursor().execute(f"select count(*) from {table}").fetchone()[0]
        calls.append((extract, rows))
        return True

    from rcm.load import connect, open_working_copy, publish
    from rcm.load.loader import load_files, pending_files

    working = open_working_copy(warehouse)
    con = connect(working)
    try:
        files = pending_files(con, landing)
        results = list(load_files(con, files, "run1", validate_batch, chunk_bytes=2 * size))
    finally:
        con.close()
    assert [r.status for r in results] == ["loaded"] * 6
    # the encounter file alone (the next file is another extract), then chunks of two
    # charge files: two, two, and the last one alone
    assert calls == [("encounters", 1), ("charges", 2), ("charges", 2), ("charges", 1)]
    publish(working, warehouse)
    assert_invariants(warehouse)


def test_a_clean_chunk_is_validated_in_one_gx_run(landing: Path, warehouse: Path, tmp_path):
    pytest.importorskip("great_expectations")
    from rcm.validate.hook import validate_and_record
    from rcm.validate.runner import STATS

    for name, ids in {"a.csv": ["C1", "C2"], "b.csv": ["C3"], "c.csv": ["C4", "C5"]}.items():
        write(landing, "charges", name, csv_text([charge(i) for i in ids], CHG_COLUMNS))
    runs = STATS["runs"]
    run_id = f"run-{tmp_path.name}"
    summary = run_load(landing, warehouse, run_id, validate_batch=validate_and_record)
    assert [(f.status, f.rows_loaded) for f in summary.files] == [
        ("loaded", 2),
        ("loaded", 1),
        ("loaded", 2),
    ]
    assert STATS["runs"] - runs == 1
    rows = query(
        warehouse,
        "select m.file_name, m.validation_success, count(*), "
        "count(*) filter (where not v.success), min(v.validated_with), max(v.validated_with) "
        "from ops.load_manifest m join ops.validation_results v using (load_id) "
        "group by all order by all",
    )
    chunk = f"{run_id}:charges-chunk-{summary.files[0].load_id.partition(':')[2]}"
    assert [r[0] for r in rows] == ["a.csv", "b.csv", "c.csv"]
    assert {r[2] for r in rows} == {rows[0][2]} and rows[0][2] >= 10  # the same expectations
    assert all(ok and failed == 0 and lo == hi == chunk for _, ok, _, failed, lo, hi in rows)
    # the chunk's own rows were copied per file, not left under the chunk's id
    assert query(
        warehouse, "select count(*) from ops.validation_results where load_id = ?", [chunk]
    ) == [(0,)]


def test_a_hook_that_keeps_no_results_runs_once_per_clean_chunk(landing: Path, warehouse: Path):
    for name in ("a.csv", "b.csv"):
        write(landing, "charges", name, csv_text([charge(f"C_{name}")], CHG_COLUMNS))
    calls = []

    def validate_batch(con, table, extract, load_id):
        calls.append(load_id)
        return SimpleNamespace(success=True, warnings=[])

    summary = run_load(landing, warehouse, "run1", validate_batch=validate_batch)
    assert [f.status for f in summary.files] == ["loaded", "loaded"]
    assert calls == ["run1:charges-chunk-" + summary.files[0].load_id.partition(":")[2]]
    assert query(warehouse, "select distinct validation_success from ops.load_manifest") == [
        (True,)
    ]


def test_io_error_at_a_chunks_commit_fails_its_files_and_reads_the_rest_again(
    landing: Path, warehouse: Path, monkeypatch
):
    """b.csv fails critically, then the commit of a.csv + b.csv hits an I/O error: both are
    recorded failed (retried next run), and c.csv is still read again and loaded."""
    for name, ids in {"a.csv": ["C1"], "b.csv": ["BAD"], "c.csv": ["C3"]}.items():
        write(landing, "charges", name, csv_text([charge(i) for i in ids], CHG_COLUMNS))
    real = loader_module._commit_chunk
    commits = []

    def disk_full_once(*args, **kwargs):
        commits.append(1)
        if len(commits) == 1:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    def validate_batch(con, table, extract, load_id):
        bad = con.cursor().execute(f"select count(*) from {table} where charge_id = 'BAD'")
        return not bad.fetchone()[0]

    monkeypatch.setattr(loader_module, "_commit_chunk", disk_full_once)
    summary = run_load(landing, warehouse, "run1", validate_batch=validate_batch)
    assert [(f.file.file_name, f.status) for f in summary.files] == [
        ("a.csv", "failed"),
        ("b.csv", "failed"),
        ("c.csv", "loaded"),
    ]
    assert query(warehouse, "select charge_id from raw.charges") == [("C3",)]
    monkeypatch.setattr(loader_module, "_commit_chunk", real)
    retry = run_load(landing, warehouse, "run2", validate_batch=validate_batch)
    assert [(f.file.file_name, f.status) for f in retry.files] == [
        ("a.csv", "loaded"),
        ("b.csv", "quarantined"),
    ]
    assert_invariants(warehouse)
