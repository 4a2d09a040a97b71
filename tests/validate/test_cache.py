"""GX objects cached per process: repeated calls stay correct, independent and cheap."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
import validate_samples as samples

from expectations import SUITES
from rcm.errors import RcmError
from rcm.validate import RESULTS_TABLE, build_data_docs, clear_cache, record_results, runner
from rcm.validate import validate_batch as _validate_batch
from rcm.validate.hook import load_run_of, validate_and_record
from rcm.validate.shared_connection import shared_duckdb, stable_key

HOOK_TABLE = "ops.load_batch"  # one name reused for every batch, as the loader does


def validate_batch(*args, **kwargs):
    kwargs.setdefault("update_data_docs", False)
    return _validate_batch(*args, **kwargs)


@pytest.fixture()
def fresh_cache():
    """Each test starts from an empty per-process cache (and leaves none behind)."""
    clear_cache()
    yield runner.STATS
    clear_cache()


def _stage(con: duckdb.DuckDBPyConnection, source: str, *fixes: str) -> None:
    """Like the loader: a committed copy of the batch under the one hook table name."""
    con.execute("create schema if not exists ops")
    con.execute(f"create or replace table {HOOK_TABLE} as from {source}")
    for sql in fixes:
        con.execute(sql.format(t=HOOK_TABLE))


def _failed(outcome) -> list[tuple[str, int | None]]:
    return sorted((r["description"], r["unexpected_count"]) for r in outcome.failed())


def test_good_broken_good_in_one_process(warehouse, tmp_path: Path, fresh_cache) -> None:
    root = tmp_path / "gx"
    expected = len(SUITES["charges"].build_suite().expectations)

    _stage(warehouse, "raw.charges")
    good = validate_batch(warehouse, HOOK_TABLE, "charges", "good-1", gx_root=root)
    registered = dict(fresh_cache)

    _stage(
        warehouse,
        "raw.charges",
        "update {t} set charge_id = 'CH00003' where charge_id = 'CH00004'",
        "update {t} set revenue_code = '300' where charge_id in ('CH00005', 'CH00006')",
    )
    broken = validate_batch(warehouse, HOOK_TABLE, "charges", "broken", gx_root=root)

    _stage(warehouse, "raw.charges")
    good_again = validate_batch(warehouse, HOOK_TABLE, "charges", "good-2", gx_root=root)

    assert good.success and good.action == "load" and _failed(good) == []
    assert broken.action == "quarantine"
    assert _failed(broken) == [
        ("A charge line appears once per batch.", None),
        ("Revenue code is 4 digits (UB-04).", 2),
    ]
    assert good_again.success and good_again.action == "load" and _failed(good_again) == []
    for outcome, load_id in ((good, "good-1"), (broken, "broken"), (good_again, "good-2")):
        assert len(outcome.results) == expected
        assert {r["load_id"] for r in outcome.results} == {load_id}
        assert outcome.row_count == samples.ROWS
    # The same query each time: nothing registered again after the first call.
    assert {k: fresh_cache[k] for k in ("contexts", "datasources", "assets", "suites")} == {
        k: registered[k] for k in ("contexts", "datasources", "assets", "suites")
    }
    assert fresh_cache["runs"] == registered["runs"] + 2


def test_table_level_defect_then_good_batch(warehouse, tmp_path: Path, fresh_cache) -> None:
    """Same hook table, same query text, other columns: GX reads the columns per call."""
    root = tmp_path / "gx"
    _stage(warehouse, "raw.encounters")
    assert validate_batch(warehouse, HOOK_TABLE, "encounters", "g1", gx_root=root).success
    _stage(warehouse, "raw.encounters", "alter table {t} drop column coder_id")
    missing = validate_batch(warehouse, HOOK_TABLE, "encounters", "m", gx_root=root)
    _stage(warehouse, "raw.encounters")
    again = validate_batch(warehouse, HOOK_TABLE, "encounters", "g2", gx_root=root)
    assert [r["description"] for r in missing.failed()] == [
        "All contract columns of the encounters extract."
    ]
    assert again.success, _failed(again)
    assert fresh_cache["assets"] == 1  # coder_id feeds no check: the query text is unchanged
    # A check input missing changes the query (its check is NULL): registered again.
    _stage(warehouse, "raw.encounters", "alter table {t} drop column attending_npi")
    no_npi = validate_batch(warehouse, HOOK_TABLE, "encounters", "n", gx_root=root)
    _stage(warehouse, "raw.encounters")
    last = validate_batch(warehouse, HOOK_TABLE, "encounters", "g3", gx_root=root)
    assert [r["description"] for r in no_npi.failed()] == [
        "All contract columns of the encounters extract."
    ]
    assert last.success, _failed(last)
    assert fresh_cache["assets"] == 3


def test_two_connections_in_one_process(tmp_path: Path, fresh_cache) -> None:
    """Cached GX objects must reach the *current* loader connection, never an old one."""
    root = tmp_path / "gx"
    paths = [tmp_path / "a" / "warehouse.duckdb", tmp_path / "b" / "warehouse.duckdb"]
    for index, path in enumerate(paths):
        path.parent.mkdir()
        con = duckdb.connect(str(path))
        samples.create_charges(con)
        _stage(con, "raw.charges")
        if index == 1:  # only the second database holds a broken batch
            con.execute(f"update {HOOK_TABLE} set cost_category = 'lab'")
        con.close()

    outcomes = []
    for path in (*paths, paths[0]):
        con = duckdb.connect(str(path))
        try:
            outcomes.append(
                validate_batch(con, HOOK_TABLE, "charges", path.parent.name, gx_root=root)
            )
        finally:
            con.close()
        # No GX cursor outlives the call: the file opens again with another configuration.
        duckdb.connect(str(path), config={"custom_user_agent": "probe"}).close()

    first, second, third = outcomes
    assert first.success and third.success
    assert _failed(second) == [("Cost category is a contract value.", samples.ROWS)]
    assert fresh_cache["datasources"] == 1 and fresh_cache["assets"] == 1
    # A database path (the runner's own connection) works with the same cached objects.
    assert validate_batch(str(paths[1]), HOOK_TABLE, "charges", "by-path", gx_root=root).action == (
        "quarantine"
    )


def test_suite_registered_once_per_run(warehouse, tmp_path: Path, fresh_cache) -> None:
    root = tmp_path / "gx"
    _stage(warehouse, "raw.charges")
    for load_id in ("run1:a", "run1:b", "run1:c"):
        validate_batch(warehouse, HOOK_TABLE, "charges", load_id, gx_root=root, run_id="run1")
    assert fresh_cache["suites"] == 1
    validate_batch(warehouse, HOOK_TABLE, "charges", "run2:a", gx_root=root, run_id="run2")
    validate_batch(warehouse, HOOK_TABLE, "charges", "run2:b", gx_root=root, run_id="run2")
    assert fresh_cache["suites"] == 2  # the next run registers the suite from code again
    assert load_run_of("20261126T010203-abc123:0123456789abcdef") == "20261126T010203-abc123"
    assert load_run_of("no-run") == "no-run"


def test_changed_suite_is_registered_again(warehouse, tmp_path: Path, fresh_cache) -> None:
    """Other related tables make another remittances suite: it is registered, not reused."""
    root = tmp_path / "gx"
    samples.create_remittances(warehouse, schema="other")
    warehouse.execute("update other.remit_payments set is_envelope_valid = false")
    good = validate_batch(warehouse, "raw.remit_claims", "remittances", "r1", gx_root=root)
    other = validate_batch(
        warehouse,
        "raw.remit_claims",
        "remittances",
        "r2",
        gx_root=root,
        related_tables={"payments": "other.remit_payments"},
    )
    assert good.success
    assert [r["description"] for r in other.failed()] == [
        "Envelope: ST02 = SE02 and SE01 = the segments counted (parser flag)."
    ]
    assert fresh_cache["suites"] == 2 and fresh_cache["assets"] == 1


def test_hook_defers_data_docs_to_one_build(warehouse, tmp_path: Path, monkeypatch, fresh_cache):
    root = tmp_path / "gx"
    monkeypatch.setenv(runner.GX_DIR_ENV, str(root))
    outcomes = []
    for extract, source in (("encounters", "raw.encounters"), ("charges", "raw.charges")):
        _stage(warehouse, source)
        outcomes.append(validate_and_record(warehouse, HOOK_TABLE, extract, f"run1:{extract}"))
    assert all(o.success and o.data_docs_index is None for o in outcomes)
    assert not list(root.rglob("index.html"))  # nothing rendered per file
    counts = warehouse.execute(
        f"select extract, count(*) from {RESULTS_TABLE} group by 1 order by 1"
    ).fetchall()
    assert counts == [
        ("charges", len(SUITES["charges"].build_suite().expectations)),
        ("encounters", len(SUITES["encounters"].build_suite().expectations)),
    ]

    index = build_data_docs(root)
    assert index.name == "index.html" and index.is_file()
    pages = [p for p in index.parent.rglob("*.html") if "validations" in p.parts]
    assert len(pages) == 2  # one page per validated load
    assert build_data_docs(root, full=True) == index  # full rebuild: same site


def test_build_data_docs_resolves_the_root_like_the_runner(tmp_path: Path, fresh_cache) -> None:
    database = tmp_path / "warehouse.duckdb.building"
    con = duckdb.connect(str(database))
    samples.create_charges(con)
    try:
        outcome = validate_batch(con, "raw.charges", "charges", "x")
        record_results(con, outcome)
    finally:
        con.close()
    index = build_data_docs(database=database)
    assert index.is_file()
    assert (tmp_path / "warehouse.duckdb_gx") in index.parents


def test_unbound_shared_key_refuses_to_connect(warehouse, tmp_path: Path) -> None:
    """Outside a validation, a connect to the stable key must not create a stray file."""
    key = stable_key(str(tmp_path))
    engine = sa.create_engine(f"duckdb:///{key}")
    with shared_duckdb(warehouse, key):
        with engine.connect() as connection:
            assert connection.execute(sa.text("select count(*) from raw.charges")).scalar() == 24
    engine.dispose()
    with pytest.raises(RcmError, match="outside a validation"):
        engine.connect()
    engine.dispose()
    assert not Path(key).exists()
    with shared_duckdb(warehouse, key), pytest.raises(RcmError, match="already bound"):
        with shared_duckdb(warehouse, key):
            pass


def _csv(rows: list[dict[str, str]]) -> str:
    columns = list(rows[0])
    return "\n".join([",".join(columns)] + [",".join(r[c] for c in columns) for r in rows]) + "\n"


def _encounter(encounter_id: str) -> dict[str, str]:
    return {
        "encounter_id": encounter_id,
        "patient_id": "MRN" + encounter_id,
        "patient_birth_date": "1970-05-06",
        "patient_sex": "F",
        "facility_id": "FAC1",
        "department_id": "MED",
        "encounter_type": "inpatient",
        "admit_date": "2026-01-02",
        "discharge_date": "2026-01-04",
        "attending_npi": "1234567893",
        "primary_payer_id": "PAY1",
        "coder_id": "C01",
        "documented_dx_codes": "I10;E11.9",
        "documented_px_codes": "99223",
        "note_signed_at": "2026-01-04T10:00:00",
        "coded_at": "2026-01-05T09:00:00",
        "final_billed_at": "2026-01-06T09:00:00",
        "updated_at": "2026-01-06T09:00:00",
    }


def _charge(charge_id: str, revenue_code: str = "0300") -> dict[str, str]:
    return {
        "charge_id": charge_id,
        "encounter_id": "E1",
        "claim_id": "CLM1",
        "facility_id": "FAC1",
        "department_id": "LAB",
        "service_date": "2026-01-02",
        "posted_date": "2026-01-03",
        "cdm_code": "CDM100",
        "revenue_code": revenue_code,
        "hcpcs_code": "80053",
        "modifiers": "26;59",
        "units": "1",
        "billed_dx_codes": "I10",
        "charge_amount": "125.50",
        "cost_amount": "30.25",
        "cost_category": "supplies",
        "rendering_npi": "1234567893",
    }


def test_loader_runs_with_the_hook(tmp_path: Path, monkeypatch, fresh_cache) -> None:
    """Two load runs through the real loader: one connection per run, then one per file."""
    from rcm.load import find_landing_files, load_landing, load_one, open_working_copy, publish

    monkeypatch.delenv(runner.GX_DIR_ENV, raising=False)
    landing, warehouse = tmp_path / "landing", tmp_path / "wh" / "warehouse.duckdb"
    files = {
        "encounters/e1.csv": [_encounter("E1"), _encounter("E2")],
        "charges/c1.csv": [_charge("C1"), _charge("C2")],
        "charges/c2.csv": [_charge("C3", revenue_code="300"), _charge("C4")],  # GX catches it
        "charges/c3.csv": [_charge("C5")],
    }
    for name, rows in files.items():
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        (landing / name).write_text(_csv(rows))

    working = open_working_copy(warehouse)
    summary = load_landing(landing, working, "night1", validate_batch=validate_and_record)
    # one suite per extract; runs: e1, the charges chunk (each file's results from it; c2
    # fails critically, and c3, ruled against c2's rows, is read again) and c3 alone
    assert fresh_cache["suites"] == 2 and fresh_cache["runs"] == 3
    index = build_data_docs(database=working)
    assert index.is_file()
    publish(working, warehouse)
    status = {r.file.relative_path: r.status for r in summary.files}
    assert status == {
        "encounters/e1.csv": "loaded",
        "charges/c1.csv": "loaded",
        "charges/c2.csv": "quarantined",
        "charges/c3.csv": "loaded",
    }

    for name, rows in {
        "charges/c4.csv": [_charge("C6"), _charge("C7")],
        "charges/c5.csv": [_charge("C8", revenue_code="30")],
    }.items():
        (landing / name).write_text(_csv(rows))
    working = open_working_copy(warehouse)
    new = [
        f for f in find_landing_files(landing, ("charges",)) if f.file_name in ("c4.csv", "c5.csv")
    ]
    results = [load_one(working, f, "night2", validate_and_record) for f in new]
    assert [r.status for r in results] == ["loaded", "quarantined"]
    assert fresh_cache["suites"] == 3  # charges registered again for the new run
    con = duckdb.connect(str(working))
    try:
        per_load = con.execute(
            f"select load_id, count(*) from {RESULTS_TABLE} group by 1"
        ).fetchall()
        failed = con.execute(
            f"select load_id, description from {RESULTS_TABLE} where not success order by 1"
        ).fetchall()
    finally:
        con.close()
    sizes = {extract: len(m.build_suite().expectations) for extract, m in SUITES.items()}
    assert sorted(n for _, n in per_load) == sorted([sizes["encounters"]] + [sizes["charges"]] * 5)
    assert [d for _, d in failed] == ["Revenue code is 4 digits (UB-04)."] * 2
    assert build_data_docs(database=working) == index  # the same site, next to the working copy


def test_gx_folder_removed_mid_process(warehouse, tmp_path: Path, fresh_cache) -> None:
    """Stale cached objects (the stores are gone): the call starts over from a new context."""
    import shutil

    root = tmp_path / "gx"
    assert validate_batch(warehouse, "raw.charges", "charges", "a", gx_root=root).success
    shutil.rmtree(root)
    assert validate_batch(warehouse, "raw.charges", "charges", "b", gx_root=root).success
    assert fresh_cache["contexts"] == 2 and fresh_cache["suites"] == 2
