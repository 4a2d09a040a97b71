"""ops.validation_results of files validated together in one chunk (835 files, and CSV
files under a hook without `validate_files`): shared by rcm.load.loader and
rcm.load.remittances."""

from __future__ import annotations

from typing import Any

import duckdb


def clean(verdict: Any) -> bool:
    """Passed every expectation: nothing to quarantine, nothing to flag."""
    return not verdict.critical and not verdict.warnings and verdict.success is not False


def has_results(con: duckdb.DuckDBPyConnection) -> bool:
    """The hook keeps ops.validation_results (rcm.validate.results.record_results, which
    also gives older warehouses the `validated_with` column)."""
    found = con.execute(
        "select 1 from duckdb_tables() where schema_name = 'ops' "
        "and table_name = 'validation_results'"
    ).fetchone()
    return found is not None


def forget(con: duckdb.DuckDBPyConnection, load_id: str) -> None:
    """Drop the results recorded under `load_id` (a chunk's, or a file read again)."""
    if has_results(con):
        con.execute("delete from ops.validation_results where load_id = ?", [load_id])


def copy_to_file(con: duckdb.DuckDBPyConnection, chunk_id: str, load_id: str) -> None:
    """The chunk's validation rows, once more under one file's load id (validated_with)."""
    con.execute(
        "insert into ops.validation_results by name select * replace "
        "(?::varchar as load_id, ?::varchar as validated_with) "
        "from ops.validation_results where load_id = ?",
        [load_id, chunk_id, chunk_id],
    )
