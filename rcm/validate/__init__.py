"""Validation of every load: GX suites from ``expectations/`` run in-database on DuckDB.

Public API: :func:`validate_batch`, :func:`record_results` (:func:`record_many`: several
outcomes in one insert), :class:`ValidationOutcome`,
:func:`build_data_docs` (once per load stage) and :func:`clear_cache` (GX objects are cached
per process).
See docs/validation.md.
"""

from rcm.validate.results import RESULTS_TABLE, ValidationOutcome, record_many, record_results
from rcm.validate.runner import build_data_docs, clear_cache, validate_batch

__all__ = [
    "RESULTS_TABLE",
    "ValidationOutcome",
    "build_data_docs",
    "clear_cache",
    "record_many",
    "record_results",
    "validate_batch",
]
