"""The nightly flow end to end on generated data, in one Prefect test harness.

The first night is the session's published night (tests/flows/conftest.py: a small generated
hospital through `rcm nightly`, the flow run as an operator runs it). Check: every file loaded
with the manifest invariant, every expectation recorded, the marts equal to the generator's
truth.json, the run logged with its expectation and dbt counts and summed up on one screen;
then, in-process on a copy of that night, an empty night leaves the published file untouched,
a failed night is recorded, and the next publishing night folds both in.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from marts_truth import GRAINS, assert_mart_equals_truth

from rcm.errors import RcmError

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def night(published_night):
    assert published_night.proc.returncode == 0, published_night.printed[-3000:]
    return published_night


def _query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _run_log_row(night, columns: str) -> tuple:
    (row,) = _query(
        night.warehouse, f"select {columns} from ops.run_log where run_id = ?", [night.run_id]
    )
    return row


def test_every_file_loaded_and_counted(night) -> None:
    files = [p for p in night.landing.rglob("*") if p.is_file() and p.name != "truth.json"]
    rows = _query(
        night.warehouse,
        "select status, rows_read, rows_loaded, rows_quarantined from ops.load_manifest",
    )
    assert len(rows) == len(files)
    assert {status for status, *_ in rows} == {"loaded"}
    assert all(read == loaded + quarantined for _, read, loaded, quarantined in rows)
    assert _run_log_row(night, "status, files_loaded") == ("success", len(files))


def test_every_load_validated(night) -> None:
    (unvalidated,) = _query(
        night.warehouse,
        "select count(*) from ops.load_manifest m "
        "where not exists (select 1 from ops.validation_results v where v.load_id = m.load_id)",
    )[0]
    assert unvalidated == 0


@pytest.mark.parametrize("mart", list(GRAINS))
def test_marts_equal_truth(night, mart) -> None:
    con = duckdb.connect(str(night.warehouse), read_only=True)
    try:
        assert_mart_equals_truth(con, mart, night.truth)
    finally:
        con.close()


def test_rerun_loads_nothing_and_keeps_the_marts(night, tmp_path) -> None:
    """An empty night: nothing new, models current -> the published file is not rewritten."""
    from flows.nightly import nightly
    from rcm.ops.run_log import pending_path

    # the published night's folder (landing, warehouse, its GX stores and reports) copied,
    # so the nights below leave the shared one as the other tests read it
    folder = tmp_path / "night"
    shutil.copytree(night.warehouse.parent, folder)
    landing, warehouse = folder / night.landing.name, folder / night.warehouse.name
    before = _query(warehouse, "select * from marts.denial_rates order by all")
    published = (_sha(warehouse), warehouse.stat().st_mtime_ns)
    second = nightly(landing=str(landing), warehouse=str(warehouse))
    assert second.status == "success" and second.count("loaded") == 0
    assert list(second.stage_seconds) == ["find new files"]  # no copy, load, build or publish
    assert (_sha(warehouse), warehouse.stat().st_mtime_ns) == published
    assert _query(warehouse, "select * from marts.denial_rates order by all") == before
    waiting = [json.loads(line) for line in pending_path(warehouse).read_text().splitlines()]
    assert [(r["run_id"], r["status"], r["files_loaded"]) for r in waiting] == [
        (second.run_id, "success", 0)
    ]

    # a failed night (the landing folder is gone): recorded with its stage, nothing published
    with pytest.raises(RcmError, match="find new files: landing folder not found"):
        nightly(landing=str(landing.parent / "no-such-landing"), warehouse=str(warehouse))
    assert _sha(warehouse) == published[0]

    # a night with one new file (same bytes, new name: a duplicate) publishes, and folds the
    # two waiting rows into ops.run_log
    copy = landing / "charges" / "resent_copy.csv"
    copy.write_bytes(next((landing / "charges").glob("*.csv")).read_bytes())
    third = nightly(landing=str(landing), warehouse=str(warehouse))
    assert third.count("duplicate") == 1 and third.count("loaded") == 0
    # the code is the published build's: an incremental build of every model with every
    # data test but those of the seeds and of the `ref` sources, without the unit tests and
    # the seeds (the first night, a full build, ran them all:
    # test_run_log_counts_expectations_and_dbt_results)
    manifest = json.loads((DBT_DIR / "target" / "manifest.json").read_text())
    kinds = Counter(n["resource_type"] for n in manifest["nodes"].values())

    def of_seeds_or_ref(test: dict) -> bool:  # every table the test reads is a seed or `ref`
        return all(
            parent.startswith("seed.") or parent.startswith(f"source.{test['package_name']}.ref.")
            for parent in test["depends_on"]["nodes"]
        )

    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    nightly_tests = [t for t in tests if not of_seeds_or_ref(t)]
    assert 0 < len(nightly_tests) < len(tests)  # the seeds and `ref` have tests of their own
    assert (third.dbt["models_passed"], third.dbt["models_failed"]) == (kinds["model"], 0)
    assert (third.dbt["tests_passed"], third.dbt["tests_failed"]) == (len(nightly_tests), 0)
    assert not pending_path(warehouse).exists()
    runs = _query(
        warehouse,
        "select run_id, status, files_loaded, files_duplicate, failed_stage, error "
        "from ops.run_log order by started_at",
    )
    assert [r[:5] for r in runs] == [
        (night.run_id, "success", first_files(landing), 0, None),
        (second.run_id, "success", 0, 0, None),
        (runs[2][0], "failed", 0, 0, "find new files"),
        (third.run_id, "success", 0, 1, None),
    ]
    assert runs[2][5].startswith("find new files: landing folder not found")
    assert _query(warehouse, "select * from marts.denial_rates order by all") == before


def test_run_log_counts_expectations_and_dbt_results(night) -> None:
    row = _run_log_row(
        night,
        "expectations_failed_critical, expectations_failed_warning, dbt_models_passed, "
        "dbt_models_failed, dbt_tests_passed, dbt_tests_failed, stage_seconds",
    )
    critical, warning, models_ok, models_failed, tests_ok, tests_failed, stages = row
    # recomputed from ops.validation_results, independently of the run record
    expected = dict(
        _query(
            night.warehouse,
            "select severity, count(*) from ops.validation_results where not success "
            "and load_id like ? group by severity",
            [f"{night.run_id}:%"],
        )
    )
    assert (critical, warning) == (expected.get("critical", 0), expected.get("warning", 0))
    # every model of the project was built, every test ran; counted from the manifest on disk
    manifest = json.loads((DBT_DIR / "target" / "manifest.json").read_text())
    models = sum(1 for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed"))
    tests = sum(1 for n in manifest["nodes"].values() if n["resource_type"] == "test")
    tests += len(manifest.get("unit_tests", {}))
    assert (models_ok, models_failed, tests_failed) == (models, 0, 0)
    assert tests_ok == tests
    assert set(json.loads(stages)) == {
        "find new files",
        "prepare",
        "reference",
        "load",
        "validation (part of load)",
        "dbt build",
        "dbt docs",
    }  # the row is written by 'record run'; publish, data docs and report follow


def test_summary_screen_names_counts_and_paths(night) -> None:
    summary = night.summary
    text = "\n".join(summary)
    assert len(summary) <= 20  # one screen
    (rows_loaded,) = _run_log_row(night, "rows_loaded")
    assert f"{rows_loaded:,} loaded" in text
    for extract in ("encounters", "charges", "remittances"):
        assert extract in text
    html = re.search(r"^  report html\s+(\S+)$", text, flags=re.M)
    assert html and Path(html.group(1)).exists()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def first_files(landing: Path) -> int:
    return sum(
        1
        for p in landing.rglob("*")
        if p.is_file() and p.name != "truth.json" and p.name != "resent_copy.csv"
    )
