"""835 loads go through the remittances GX suite, like encounters and charges.

Each file's parsed tables are staged as scratch.load_batch_era_<table>, validated before the
append (results per load in ops.validation_results), and a critical failure (an unbalanced
claim) quarantines the whole file while the good files beside it load.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import query, run_load, write

pytest.importorskip("rcm.era")
pytest.importorskip("great_expectations")

FIXTURES = Path(__file__).resolve().parents[1] / "era" / "fixtures"
GOOD = ("line_denial_in_paid_claim.835", "plb_pairs.835")


@pytest.fixture(scope="module")
def hook():
    from rcm.validate.hook import validate_and_record

    return validate_and_record


def _copy_good(landing: Path) -> None:
    for name in GOOD:
        write(landing, "remittances", name, (FIXTURES / name).read_bytes())


def _unbalanced() -> str:
    text = (FIXTURES / "line_denial_in_paid_claim.835").read_text()
    # CLP04 (claim paid) 300.00 -> 350.00: the claim and the payment no longer balance
    broken = text.replace("CLP*PCN-LD*1*750.00*300.00*", "CLP*PCN-LD*1*750.00*350.00*")
    assert broken != text
    return broken


def _manifest(warehouse: Path) -> dict[str, tuple]:
    rows = query(
        warehouse,
        "select file_name, status, validation_success, rows_read, rows_loaded, "
        "rows_quarantined, reason_code, reason, warnings, load_id from ops.load_manifest",
    )
    return {row[0]: row[1:] for row in rows}


def _validated(warehouse: Path, load_id: str) -> list[tuple]:
    return query(
        warehouse,
        "select extract, count(*), count(*) filter (where not success) "
        "from ops.validation_results where load_id = ? group by extract",
        [load_id],
    )


def _no_staging_tables(warehouse: Path) -> None:
    staged = query(
        warehouse,
        "select table_name from duckdb_tables() where table_name like 'load_batch%'",
    )
    assert staged == []


def test_good_835_is_validated_and_loaded(landing: Path, warehouse: Path, hook, tmp_path):
    _copy_good(landing)
    summary = run_load(landing, warehouse, _run_id(tmp_path), validate_batch=hook)
    assert [f.status for f in summary.files] == ["loaded", "loaded"]
    manifest = _manifest(warehouse)
    for name in GOOD:
        status, success, read, loaded, quarantined, code, reason, warnings, load_id = manifest[name]
        assert (status, success, code, reason, warnings) == ("loaded", True, None, None, [])
        assert read == loaded + quarantined and loaded > 0 and quarantined == 0
        ((extract, expectations, failed),) = _validated(warehouse, load_id)
        assert (extract, failed) == ("remittances", 0) and expectations >= 14
        in_raw = query(
            warehouse,
            "select (select count(*) from raw.era_claims where _load_id = ?)"
            " + (select count(*) from raw.era_provider_adjustments where _load_id = ?)",
            [load_id, load_id],
        )[0][0]
        assert in_raw > 0
    _no_staging_tables(warehouse)


def _gx_runs() -> int:
    from rcm.validate.runner import STATS

    return STATS["runs"]


def test_good_835s_of_a_chunk_are_validated_in_one_gx_run(
    landing: Path, warehouse: Path, hook, tmp_path
):
    """One parse and one GX run for the chunk; each file gets the chunk's result rows."""
    _copy_good(landing)
    write(landing, "remittances", "cas.835", (FIXTURES / "cas_six_triplets.835").read_bytes())
    runs = _gx_runs()
    summary = run_load(landing, warehouse, _run_id(tmp_path), validate_batch=hook)
    assert [f.status for f in summary.files] == ["loaded"] * 3
    assert _gx_runs() - runs == 1
    rows = query(
        warehouse,
        "select m.file_name, count(*), count(*) filter (where not v.success), "
        "count(distinct v.validated_with), min(v.validated_with) "
        "from ops.load_manifest m join ops.validation_results v using (load_id) "
        "group by all order by all",
    )
    assert [r[0] for r in rows] == sorted([*GOOD, "cas.835"])
    assert len({r[1] for r in rows}) == 1 and rows[0][1] >= 14  # the same expectations
    assert all(failed == 0 and chunks == 1 for _, _, failed, chunks, _ in rows)
    chunk = rows[0][4]
    assert chunk.startswith(_run_id(tmp_path) + ":era-chunk-")
    assert {r[4] for r in rows} == {chunk}
    # the chunk's own rows were copied per file, not left under the chunk's id
    assert query(warehouse, "select count(*) from ops.validation_results where load_id = ?",
                 [chunk]) == [(0,)]  # fmt: skip


@pytest.mark.parametrize("one_file_chunks", [True, False], ids=["chunk-per-file", "one-chunk"])
def test_chunks_follow_the_size_limit_and_duplicates_are_not_parsed(
    landing: Path, warehouse: Path, hook, tmp_path, monkeypatch, one_file_chunks
):
    from rcm.load import remittances

    _copy_good(landing)
    write(landing, "remittances", "zz_copy.835", (FIXTURES / GOOD[0]).read_bytes())
    parsed: list[list[str]] = []
    real = remittances._frames

    def spy(result):
        parsed.append(sorted(result.files["source_file"].to_list()))
        return real(result)

    monkeypatch.setattr(remittances, "_frames", spy)
    if one_file_chunks:
        monkeypatch.setattr(remittances, "CHUNK_BYTES", 1)  # every file a chunk of its own
    runs = _gx_runs()
    summary = run_load(landing, warehouse, _run_id(tmp_path), validate_batch=hook)
    statuses = {f.file.file_name: f.status for f in summary.files}
    assert statuses == {GOOD[0]: "loaded", GOOD[1]: "loaded", "zz_copy.835": "duplicate"}
    # the byte-identical copy is never parsed, whether its original is in an earlier chunk
    # (already loaded) or in the same one
    assert parsed == ([[GOOD[0]], [GOOD[1]]] if one_file_chunks else [sorted(GOOD)])
    assert _gx_runs() - runs == (2 if one_file_chunks else 1)
    manifest = _manifest(warehouse)
    assert manifest["zz_copy.835"][:2] == ("duplicate", None)
    # ... and names the load of its original, in an earlier chunk or the same one
    assert query(
        warehouse,
        "select duplicate_of_load_id, reason from ops.load_manifest where file_name = ?",
        ["zz_copy.835"],
    ) == [(manifest[GOOD[0]][-1], f"same bytes (sha256) as {GOOD[0]}")]
    assert all(read == loaded + q for _, _, read, loaded, q, *_ in manifest.values())
    _no_staging_tables(warehouse)


def test_unbalanced_835_is_quarantined_whole(landing: Path, warehouse: Path, hook, tmp_path):
    _copy_good(landing)
    write(landing, "remittances", "era_unbalanced.835", _unbalanced())
    summary = run_load(landing, warehouse, _run_id(tmp_path), validate_batch=hook)
    statuses = {f.file.file_name: f.status for f in summary.files}
    assert statuses == {GOOD[0]: "loaded", GOOD[1]: "loaded", "era_unbalanced.835": "quarantined"}
    manifest = _manifest(warehouse)
    status, success, read, loaded, quarantined, code, reason, _, load_id = manifest[
        "era_unbalanced.835"
    ]
    assert (status, success, code) == ("quarantined", False, "validation_failed")
    assert loaded == 0 and read == quarantined > 0
    assert reason.startswith("validation: ") and "unexpected" in reason
    assert "PCN-LD" not in reason and "350" not in reason  # value-free
    # the failed expectations are recorded for this load: the claim and payment balances
    failed = query(
        warehouse,
        "select description from ops.validation_results "
        "where load_id = ? and not success and severity = 'critical' order by all",
        [load_id],
    )
    descriptions = " | ".join(d for (d,) in failed)
    assert "Claim charge = claim paid" in descriptions and "BPR02" in descriptions
    # nothing of the file in raw; every parsed row in quarantine.era_<table>
    tables = [
        name
        for (name,) in query(
            warehouse,
            "select table_name from duckdb_tables() where schema_name = 'raw' "
            "and table_name like 'era_%' and table_name <> 'era_findings'",
        )
    ]
    assert tables
    in_raw = sum(
        query(warehouse, f"select count(*) from raw.{t} where _load_id = ?", [load_id])[0][0]
        for t in tables
    )
    in_quarantine = sum(
        query(warehouse, f"select count(*) from quarantine.{t} where _load_id = ?", [load_id])[0][0]
        for t in tables
    )
    assert (in_raw, in_quarantine) == (0, quarantined)
    assert query(
        warehouse, "select reason_code from quarantine.files where load_id = ?", [load_id]
    ) == [("validation_failed",)]
    # the parser's own findings are still kept, and counted in the reason
    errors = query(
        warehouse,
        "select count(*) from raw.era_findings where _load_id = ? and severity = 'error'",
        [load_id],
    )[0][0]
    assert errors > 0 and f"{errors} error finding(s)" in reason
    # the good files beside it loaded, validated on their own (the chunk failed as a whole)
    for name in GOOD:
        assert manifest[name][:2] == ("loaded", True)
        assert _validated(warehouse, manifest[name][-1])
    assert query(
        warehouse, "select count(*) from ops.validation_results where validated_with is not null"
    ) == [(0,)]
    assert query(
        warehouse, "select count(*) from ops.validation_results where load_id like '%era-chunk-%'"
    ) == [(0,)]
    # manifest invariant on every file
    rows = query(
        warehouse, "select rows_read, rows_loaded, rows_quarantined from ops.load_manifest"
    )
    assert all(read == loaded + quarantined for read, loaded, quarantined in rows)
    _no_staging_tables(warehouse)


def test_warning_flags_the_835_but_loads_it(landing: Path, warehouse: Path, hook, tmp_path):
    # a reversal (CLP02 = 22) with a positive charge: balanced, a warning-level expectation
    text = (FIXTURES / "zero_pay_denial.835").read_text()
    write(
        landing,
        "remittances",
        "era_reversal.835",
        text.replace("CLP*PCN-DEN*4*", "CLP*PCN-DEN*22*"),
    )
    summary = run_load(landing, warehouse, _run_id(tmp_path), validate_batch=hook)
    assert [f.status for f in summary.files] == ["loaded"]
    status, success, read, loaded, quarantined, code, _, warnings, _ = _manifest(warehouse)[
        "era_reversal.835"
    ]
    assert (status, success, quarantined) == ("loaded", False, 0) and read == loaded > 0
    assert any(w.startswith("validation warning: ") for w in warnings)


def test_hook_error_leaves_no_staging_tables(landing: Path, warehouse: Path):
    from rcm.load import connect, load_landing, open_working_copy

    _copy_good(landing)

    def broken(con, table, extract, load_id):
        assert (table, extract) == ("scratch.load_batch_era_claims", "remittances")
        raise RuntimeError("validator down")

    working = open_working_copy(warehouse)
    with pytest.raises(RuntimeError, match="validator down"):
        load_landing(landing, working, "run1", validate_batch=broken)
    con = connect(working)
    try:
        staged = con.execute(
            "select table_name from duckdb_tables() where table_name like 'load_batch%'"
        ).fetchall()
        recorded = con.execute("select count(*) from ops.load_manifest").fetchone()[0]
    finally:
        con.close()
    assert (staged, recorded) == ([], 0)


def _run_id(tmp_path: Path) -> str:
    """A load run id per test (GX re-registers the suite on a new run)."""
    return f"run-{tmp_path.name}"


def test_a_hook_that_keeps_no_results_runs_once_per_clean_chunk(landing: Path, warehouse: Path):
    """A validator of its own (no ops.validation_results): a clean chunk is one call, not
    one call for the chunk and one more per file."""
    from types import SimpleNamespace

    _copy_good(landing)
    calls = []

    def validate_batch(con, table, extract, load_id):
        calls.append((table, extract, load_id))
        return SimpleNamespace(success=True, warnings=[])

    summary = run_load(landing, warehouse, "run-own-hook", validate_batch=validate_batch)
    assert [f.status for f in summary.files] == ["loaded", "loaded"]
    assert [(t, e) for t, e, _ in calls] == [("scratch.load_batch_era_claims", "remittances")]
    assert calls[0][2] == "run-own-hook:era-chunk-0000"
    assert query(warehouse, "select count(*) from duckdb_tables() where table_name = "
                 "'validation_results'") == [(0,)]  # fmt: skip


def test_rows_lost_in_a_chunks_append_roll_the_chunk_back(
    landing: Path, warehouse: Path, monkeypatch
):
    """The chunk's rows go in one insert per table; if what was written differs from what
    the manifest rows count, nothing of the chunk is committed."""
    import rcm.load.remittances as remittances
    from rcm.load import ManifestInvariantError, connect, load_landing, open_working_copy

    _copy_good(landing)
    real = remittances._append_files

    def lose_remarks(con, name, frame, load_ids, schema="raw"):
        written = real(con, name, frame, load_ids, schema)
        return written - 1 if name == "remarks" and written else written  # one row lost

    monkeypatch.setattr(remittances, "_append_files", lose_remarks)
    working = open_working_copy(warehouse)
    with pytest.raises(ManifestInvariantError, match="rows written"):
        load_landing(landing, working, "run1")
    con = connect(working)
    try:
        counts = con.execute(
            "select (select count(*) from ops.load_manifest), "
            "(select count(*) from raw.era_claims where _load_id <> '')"
        ).fetchone()
    finally:
        con.close()
    assert counts == (0, 0)
