"""GX stores keep only the validations of loads that reached the published warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb

from rcm.validate.prune import load_id_of_run_name, prune_unpublished_results


def _published(warehouse: Path, load_ids: list[str]) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute("create schema ops")
    con.execute("create table ops.validation_results (load_id varchar)")
    con.executemany("insert into ops.validation_results values (?)", [[i] for i in load_ids])
    con.close()


def _stored(root: Path, suite: str, run_name: str) -> list[Path]:
    made = []
    for store in ("validations", "data_docs/local_site/validations"):
        folder = root / "gx" / "uncommitted" / store / suite / run_name / "20261126T010203Z"
        folder.mkdir(parents=True)
        (folder / "batch.json").write_text("{}")
        made.append(folder.parent)
    return made


def test_results_of_unpublished_loads_are_removed_from_store_and_docs(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    working = tmp_path / "wh.duckdb.building"
    root = tmp_path / "wh.duckdb_gx"  # the GX root of the working copy, beside the warehouse
    _published(warehouse, ["RUN1-aa:0001", "RUN1-aa:0002"])
    kept = _stored(root, "rcm_charges", "charges-RUN1-aa:0001")
    kept += _stored(root, "rcm_encounters", "encounters-RUN1-aa:0002")
    killed = _stored(root, "rcm_charges", "charges-RUN2-bb:0003")  # run died before publish
    assert prune_unpublished_results(warehouse, working) == 1  # one run folder per store
    assert all(p.exists() for p in kept)
    assert not any(p.exists() for p in killed)
    assert prune_unpublished_results(warehouse, working) == 0  # nothing left to drop


def test_run_name_gives_back_the_load_id() -> None:
    assert load_id_of_run_name("remittances-20261126T010203-ab12cd:0123abcd") == (
        "20261126T010203-ab12cd:0123abcd"
    )


def test_no_published_warehouse_prunes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "wh.duckdb_gx"
    stored = _stored(root, "rcm_charges", "charges-RUN2-bb:0003")
    assert prune_unpublished_results(tmp_path / "wh.duckdb", tmp_path / "wh.duckdb.building") == 0
    assert all(p.exists() for p in stored)


def test_a_chunk_validation_is_kept_when_its_files_were_published(tmp_path: Path) -> None:
    """835 files validated together: their rows name the chunk (validated_with), whose GX
    run stays; a chunk whose files never published (or that failed and was redone file by
    file) goes."""
    warehouse = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema ops")
    con.execute("create table ops.validation_results (load_id varchar, validated_with varchar)")
    con.executemany(
        "insert into ops.validation_results values (?, ?)",
        [["RUN1:f1", "RUN1:era-chunk-0000"], ["RUN1:f2", "RUN1:era-chunk-0000"],
         ["RUN1:f3", None]],
    )  # fmt: skip
    con.close()
    root = tmp_path / "wh.duckdb_gx"
    kept = _stored(root, "rcm_remittances", "remittances-RUN1:era-chunk-0000")
    kept += _stored(root, "rcm_remittances", "remittances-RUN1:f3")
    gone = _stored(root, "rcm_remittances", "remittances-RUN1:era-chunk-0001")
    assert prune_unpublished_results(warehouse, tmp_path / "wh.duckdb.building") == 1
    assert all(p.exists() for p in kept) and not any(p.exists() for p in gone)
