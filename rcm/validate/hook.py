"""The loader's validation hook: run the extract's suite on a batch and keep the results."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from rcm.validate.results import ValidationOutcome, record_many, record_results
from rcm.validate.runner import validate_batch


def load_run_of(load_id: str) -> str:
    """The load run of a loader ``load_id`` (``<load_run_id>:<16 hex>``, make_load_id)."""
    run, separator, _ = load_id.rpartition(":")
    return run if separator else load_id


def validate_and_record(
    con: duckdb.DuckDBPyConnection, table: str, extract: str, load_id: str
) -> ValidationOutcome:
    """Validate one load's batch, append its rows to ops.validation_results, return the outcome.

    The loader quarantines the file when the outcome has a critical failure. GX objects are
    cached per process; each suite is re-registered from code on the first file of every
    load run (``run_id``). Data Docs are not rebuilt per file: the flow calls
    :func:`rcm.validate.build_data_docs` once at the end of the load stage.
    """
    outcome = validate_batch(
        con, table, extract, load_id, update_data_docs=False, run_id=load_run_of(load_id)
    )
    record_results(con, outcome)
    return outcome


def validate_files_and_record(
    con: duckdb.DuckDBPyConnection,
    table: str,
    extract: str,
    chunk_id: str,
    load_ids: Sequence[str],
) -> dict[str, ValidationOutcome] | None:
    """Validate a chunk of files in one GX run; record and return each file's outcome.

    `table` holds the rows of the files `load_ids` (column `_load_id`). Each file's results
    come from the chunk's run (rcm.validate.per_file; `validated_with` = `chunk_id`). None,
    with nothing recorded, when they cannot: the loader then validates each file on its own.
    """
    outcome = validate_batch(
        con,
        table,
        extract,
        chunk_id,
        update_data_docs=False,
        run_id=load_run_of(chunk_id),
        split_by=load_ids,
    )
    if outcome.by_file is None:
        return None
    record_many(con, outcome.by_file.values())  # the chunk's files in one insert
    return outcome.by_file


#: the loader validates a chunk of CSV files through this in one run (rcm.load.loader)
validate_and_record.validate_files = validate_files_and_record  # type: ignore[attr-defined]
