"""quarantine.<extract> (rejected rows, with file, line and reason) and quarantine.files."""

from __future__ import annotations

import datetime as dt

import duckdb

from rcm.load.discover import LandingFile
from rcm.load.extracts import EXTRACTS
from rcm.load.readers import ident, q


def quarantine_reader_rejects(con: duckdb.DuckDBPyConnection, extract: str, rejects: str) -> int:
    """Records the reader could not type (`rejects`: a table or subquery of reader rejects
    with their load_id and file_name): the raw CSV text is kept, typed columns are null."""
    return con.execute(
        f"""
        insert into quarantine.{extract}
            (load_id, file_name, line, row_number, reason_code, reason, raw_line)
        select load_id, file_name, line, row_number, reason_code, reason, raw_line
        from {rejects}
        """
    ).fetchone()[0]


def quarantine_typed_rows(
    con: duckdb.DuckDBPyConnection, extract: str, table: str, override_reason: str | None = None
) -> int:
    """Typed rows from `table` kept whole: rule rejects (with _reason_code, _reason,
    _raw_values), or with `override_reason` the rows of a file quarantined whole."""
    names = EXTRACTS[extract].names
    cols = ", ".join(ident(n) for n in names)
    code, reason, raw_values = ("_reason_code", "_reason", "_raw_values")
    if override_reason is not None:  # the rows that passed the row rules, whole file rejected
        code, reason, raw_values = "'file_quarantined'", q(override_reason), "null"
    return con.execute(
        f"""
        insert into quarantine.{extract}
            (load_id, file_name, line, row_number, reason_code, reason, raw_line, raw_values,
             {cols}, _extra)
        select _load_id, _source_file, _source_line, _row_number, {code}, {reason}, null,
               {raw_values}, {cols}, _extra
        from {table}
        """
    ).fetchone()[0]


def quarantine_file(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    load_id: str,
    reason_code: str,
    reason: str,
    at: dt.datetime,
) -> None:
    """The whole file, with a value-free reason (the file itself stays in the landing folder)."""
    con.execute(
        "insert into quarantine.files values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            file.extract,
            file.file_name,
            file.relative_path,
            file.sha256,
            file.bytes,
            reason_code,
            reason,
            at,
        ],
    )
