"""The warehouse file: schemas and tables of the load layer, working copy and atomic publish.

Analysts read the *published* file. A run copies it to `<warehouse>.building`, loads into the
copy, and `publish` swaps the copy onto the published path with one `os.replace`: a reader
keeps the inode it opened (no lock error, no half-built state), and a kill at any moment
leaves the published file as it was; the next run starts again from the published file.
"""

from __future__ import annotations

import fcntl
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


# Lock files this process holds, by path: the open descriptor carries the flock. The kernel
# drops the lock when the process dies, however it dies, so a dead run never blocks the next
# one (a pid written in a file could be recycled by an unrelated process; a flock cannot).
_HELD: dict[Path, int] = {}


def _take_lock(owner: Path) -> bool:
    """Hold an exclusive flock on `owner` (created if missing); False if another process has it."""
    key = owner.resolve()
    if key in _HELD:
        return True
    fd = os.open(owner, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    _HELD[key] = fd
    return True


def _release_lock(owner: Path) -> None:
    fd = _HELD.pop(owner.resolve(), None)
    if fd is not None:
        os.close(fd)


def _holder(owner: Path) -> str:
    try:
        pid = owner.read_text().strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "another process"


def cleanup_stale_working_copies(warehouse: Path) -> list[Path]:
    """Remove a working copy (and its WAL) left by a run that died; refuse if its owner lives.

    The owner is whoever holds the flock on `<working copy>.pid` (the file also names its pid,
    for people). Taking that lock is what makes a copy stale: its owner is gone. This process
    keeps the lock (for `open_working_copy`); `publish` or `release_working_copy` let it go.
    Returns the paths removed. A copy owned by this very process (an earlier attempt in the
    same process that did not publish) is removed too.
    """
    working = working_path(warehouse)
    owner = _owner_path(working)
    if not _take_lock(owner):
        raise RcmError(
            f"another load ({_holder(owner)}) is building {working.name}; loads into one "
            "warehouse run one after another"
        )
    removed = []
    for path in (working, working.with_name(working.name + ".wal")):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def release_working_copy(warehouse: Path) -> None:
    """Drop this process's working copy and its lock (a run that ends without publishing)."""
    working = working_path(warehouse)
    owner = _owner_path(working)
    if owner.resolve() not in _HELD:
        return
    for path in (working, working.with_name(working.name + ".wal"), owner):
        path.unlink(missing_ok=True)
    _release_lock(owner)


def open_working_copy(warehouse: Path) -> Path:
    """Copy the published warehouse (if any) to `<warehouse>.building` and return that path.

    The copy gets the load-layer schemas and tables, so it is ready for `connect`. The caller
    owns it (flock on `<warehouse>.building.pid`) until `publish` or `release_working_copy`.
    """
    warehouse = Path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    cleanup_stale_working_copies(warehouse)
    working = working_path(warehouse)
    owner = _owner_path(working)
    fd = _HELD[owner.resolve()]
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
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
    owner.unlink(missing_ok=True)
    _release_lock(owner)


def connect(working: Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection to the working copy (never to the published file), with an
    in-memory database attached as `scratch`."""
    if Path(working).name.endswith(WORKING_SUFFIX) is False:
        raise RcmError("loads write to a working copy; call open_working_copy first")
    con = duckdb.connect(str(working))
    con.execute(f"set memory_limit = '{memory_limit()}'")
    # each file commits on its own; at DuckDB's default (16 MB of WAL) nearly every commit of
    # a large extract also checkpointed the whole working copy (at 1M encounters, commits
    # took 1 s each). The publish step checkpoints once at the end anyway.
    con.execute(f"set checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
    # the batches handed to the validation hook: committed (GX reads them on other cursors
    # of this database instance) but in memory, so never written to the file or its WAL
    con.execute(f"attach if not exists ':memory:' as {SCRATCH}")
    return con


#: in-memory database attached to every loader connection (see connect)
SCRATCH = "scratch"
#: WAL size at which DuckDB checkpoints the working copy during a load
CHECKPOINT_THRESHOLD = "1GB"


def memory_limit() -> str:
    """DuckDB's memory limit for the nightly's connections (and dbt's, in dbt/profiles.yml).

    Bounded so that a nightly on a shared machine stays within its budget; DuckDB spills
    to disk beyond it. `RCM_DUCKDB_MEMORY_LIMIT` overrides (e.g. '8GB').
    """
    limit = os.environ.get("RCM_DUCKDB_MEMORY_LIMIT", "4GB")
    if not limit.replace(".", "").isalnum():
        raise RcmError(f"RCM_DUCKDB_MEMORY_LIMIT must look like '4GB', got {limit!r}")
    return limit


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
