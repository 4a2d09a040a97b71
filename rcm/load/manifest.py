"""ops.load_manifest: one row per file seen (shared contracts, section 3), and its look-ups."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

import duckdb

from rcm.errors import RcmError
from rcm.load.discover import LandingFile
from rcm.load.warehouse import MANIFEST_COLUMNS

STATUSES = ("loaded", "duplicate", "quarantined", "failed")


class ManifestInvariantError(RcmError):
    """rows_read != rows_loaded + rows_quarantined: the load is rolled back."""


@dataclass
class ManifestRow:
    file_name: str
    extract: str
    sha256: str | None
    bytes: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    status: str
    validation_success: bool | None
    loaded_at: dt.datetime
    load_id: str
    load_run_id: str
    file_path: str
    file_mtime_ns: int
    format: str
    reason_code: str | None = None
    reason: str | None = None
    duplicate_of_load_id: str | None = None
    rows_duplicate: int = 0
    rows_warned: int = 0
    warnings: list[str] = field(default_factory=list)
    source_lines_exact: bool | None = None
    seconds: float | None = None

    def check(self) -> None:
        if self.status not in STATUSES:
            raise ManifestInvariantError(f"unknown manifest status {self.status!r}")
        if min(self.rows_read, self.rows_loaded, self.rows_quarantined) < 0 or (
            self.rows_read != self.rows_loaded + self.rows_quarantined
        ):
            raise ManifestInvariantError(
                f"{self.file_name}: rows_read {self.rows_read} != rows_loaded "
                f"{self.rows_loaded} + rows_quarantined {self.rows_quarantined}; load rolled back"
            )


def record(con: duckdb.DuckDBPyConnection, row: ManifestRow) -> None:
    """Insert one manifest row after checking the invariant (raises before writing)."""
    row.check()
    values = asdict(row)
    names = [name for name, _ in MANIFEST_COLUMNS]
    con.execute(
        f"insert into ops.load_manifest ({', '.join(names)}) "
        f"values ({', '.join('?' for _ in names)})",
        [values[name] for name in names],
    )


def known_sha256(con: duckdb.DuckDBPyConnection, file: LandingFile) -> str | None:
    """The sha256 recorded for this path with the same size and mtime (saves re-hashing)."""
    row = con.execute(
        "select sha256 from ops.load_manifest where file_path = ? and bytes = ? "
        "and file_mtime_ns = ? and sha256 is not null and status <> 'failed' limit 1",
        [file.relative_path, file.bytes, file.mtime_ns],
    ).fetchone()
    return row[0] if row else None


def already_seen(con: duckdb.DuckDBPyConnection, file: LandingFile) -> bool:
    """This path with these bytes has a final manifest row: a rerun skips it silently."""
    row = con.execute(
        "select 1 from ops.load_manifest where file_path = ? and sha256 = ? "
        "and status <> 'failed' limit 1",
        [file.relative_path, file.sha256],
    ).fetchone()
    return row is not None


def first_load_of(con: duckdb.DuckDBPyConnection, sha256: str) -> tuple[str, str] | None:
    """(load_id, file_name) of the first final load of these bytes, under any name."""
    return con.execute(
        "select load_id, file_name from ops.load_manifest where sha256 = ? "
        "and status in ('loaded', 'quarantined') order by loaded_at, load_id limit 1",
        [sha256],
    ).fetchone()
