"""The warehouse file: schemas and tables of the load layer, working copy and atomic publish.

Analysts read the *published* file. A run copies it to `<warehouse>.building`, loads into the
copy, and `publish` swaps the copy onto the published path with one `os.replace`: a reader
keeps the inode it opened (no lock error, no half-built state), and a kill at any moment
leaves the published file as it was; the next run starts again from the published file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from rcm.errors import RcmError
from rcm.load.extracts import EXTRACTS, META_COLUMNS

SCHEMAS = ("raw", "ops", "quarantine", "ref")
WORKING_SUFFIX = ".building"


def working_path(warehouse: Path) -> Path:
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name + WORKING_SUFFIX)


def _owner_path(working: Path) -> Path:
    return working.with_name(working.name + ".pid")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_stale_working_copies(warehouse: Path) -> list[Path]:
    """Remove a working copy (and its WAL) left by a run that died; refuse if its owner lives.

    Returns the paths removed. A working copy owned by this very process is also removed
    (a previous attempt in the same process that did not publish).
    """
    working = working_path(warehouse)
    owner = _owner_path(working)
    if owner.exists():
        try:
            pid = int(owner.read_text().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid and pid != os.getpid() and _pid_alive(pid):
            raise RcmError(
                f"another load (pid {pid}) is building {working.name}; loads into one "
                "warehouse run one after another"
            )
    removed = []
    for path in (working, working.with_name(working.name + ".wal"), owner):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def open_working_copy(warehouse: Path) -> Path:
    """Copy the published warehouse (if any) to `<warehouse>.building` and return that path.

    The copy gets the load-layer schemas and tables, so it is ready for `connect`.
    """
    warehouse = Path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    cleanup_stale_working_copies(warehouse)
    working = working_path(warehouse)
    _owner_path(working).write_text(str(os.getpid()))
    if warehouse.exists():
        if Path(str(warehouse) + ".wal").exists():
            raise RcmError(
                f"{warehouse.name} has a pending write-ahead log; it was written outside the "
                "publish step — open it once read-write to checkpoint it, then rerun"
            )
        shutil.copyfile(warehouse, working)
    con = duckdb.connect(str(working))
    try:
        ensure_schema(con)
    finally:
        con.close()
    return working


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(working: Path, warehouse: Path) -> None:
    """Checkpoint the working copy, fsync it, and atomically replace the published file."""
    working, warehouse = Path(working), Path(warehouse)
    if not working.exists():
        raise RcmError(f"no working copy to publish: {working.name}")
    con = duckdb.connect(str(working))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    wal = working.with_name(working.name + ".wal")
    if wal.exists():  # checkpoint folds the WAL in; a leftover means an open writer somewhere
        raise RcmError(f"{working.name} still has a write-ahead log; is a connection open?")
    _fsync(working)
    os.replace(working, warehouse)
    _fsync(warehouse.parent)
    owner = _owner_path(working)
    if owner.exists():
        owner.unlink()


def connect(working: Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection to the working copy (never to the published file)."""
    if Path(working).name.endswith(WORKING_SUFFIX) is False:
        raise RcmError("loads write to a working copy; call open_working_copy first")
    return duckdb.connect(str(working))


def _columns_sql(columns: list[tuple[str, str]]) -> str:
    return ",\n    ".join(f'"{name}" {sql_type}' for name, sql_type in columns)


def raw_columns(extract: str) -> list[tuple[str, str]]:
    ex = EXTRACTS[extract]
    return [(c.name, c.sql_type) for c in ex.columns] + list(META_COLUMNS)


QUARANTINE_META = [
    ("load_id", "VARCHAR"),
    ("file_name", "VARCHAR"),
    ("line", "BIGINT"),
    ("row_number", "BIGINT"),
    ("reason_code", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("raw_line", "VARCHAR"),
    ("raw_values", "MAP(VARCHAR, VARCHAR)"),
]


def quarantine_columns(extract: str) -> list[tuple[str, str]]:
    ex = EXTRACTS[extract]
    return (
        QUARANTINE_META
        + [(c.name, c.sql_type) for c in ex.columns]
        + [("_extra", "MAP(VARCHAR, VARCHAR)")]
    )


MANIFEST_COLUMNS = [
    # contract (shared contracts, section 3), in order
    ("file_name", "VARCHAR"),
    ("extract", "VARCHAR"),
    ("sha256", "VARCHAR"),
    ("bytes", "BIGINT"),
    ("rows_read", "BIGINT"),
    ("rows_loaded", "BIGINT"),
    ("rows_quarantined", "BIGINT"),
    ("status", "VARCHAR"),
    ("validation_success", "BOOLEAN"),
    ("loaded_at", "TIMESTAMP"),
    ("load_id", "VARCHAR"),
    # extras
    ("load_run_id", "VARCHAR"),
    ("file_path", "VARCHAR"),
    ("file_mtime_ns", "BIGINT"),
    ("format", "VARCHAR"),
    ("reason_code", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("duplicate_of_load_id", "VARCHAR"),
    ("rows_duplicate", "BIGINT"),
    ("rows_warned", "BIGINT"),
    ("warnings", "VARCHAR[]"),
    ("source_lines_exact", "BOOLEAN"),
    ("seconds", "DOUBLE"),
]

QUARANTINE_FILES_COLUMNS = [
    ("load_id", "VARCHAR"),
    ("extract", "VARCHAR"),
    ("file_name", "VARCHAR"),
    ("file_path", "VARCHAR"),
    ("sha256", "VARCHAR"),
    ("bytes", "BIGINT"),
    ("reason_code", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("quarantined_at", "TIMESTAMP"),
]

LATEST_ENCOUNTERS_VIEW = """
create or replace view raw.encounters_latest as
select * exclude (_version_rank)
from (
    select
        *,
        row_number() over (
            partition by encounter_id
            order by updated_at desc, _load_id asc, _row_number asc
        ) as _version_rank
    from raw.encounters
)
where _version_rank = 1
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the load layer's schemas, tables and views if missing (idempotent)."""
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    for extract in EXTRACTS:
        con.execute(
            f"create table if not exists raw.{extract} (\n    "
            f"{_columns_sql(raw_columns(extract))}\n)"
        )
        con.execute(
            f"create table if not exists quarantine.{extract} (\n    "
            f"{_columns_sql(quarantine_columns(extract))}\n)"
        )
    con.execute(
        f"create table if not exists quarantine.files (\n    "
        f"{_columns_sql(QUARANTINE_FILES_COLUMNS)}\n)"
    )
    con.execute(
        f"create table if not exists ops.load_manifest (\n    {_columns_sql(MANIFEST_COLUMNS)}\n)"
    )
    con.execute(LATEST_ENCOUNTERS_VIEW)
