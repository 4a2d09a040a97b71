"""The loader's validation hook: run the extract's suite on a batch and keep the results."""

from __future__ import annotations

import duckdb

from rcm.validate.results import ValidationOutcome, record_results
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
