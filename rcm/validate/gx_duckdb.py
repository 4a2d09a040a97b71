"""Workaround that lets GX 1.x SQL validation run on DuckDB through duckdb-engine.

Upstream bug: https://github.com/great-expectations/great_expectations/issues/11579
("SqlAlchemyExecutionEngine.resolve_metric_bundle raises IndexError with duckdb-engine").
``SqlAlchemyExecutionEngine.execute_query`` runs the query inside ``with get_connection()``
and returns the *unconsumed* cursor result after that block has closed the connection.
Closing hands the connection back to the pool, which rolls it back; on DuckDB the rollback
runs on the same DBAPI cursor and discards the pending result, so the later ``fetchall()``
sees no rows and every bundled metric fails with ``IndexError: list index out of range``.

The fix is one method: for the ``duckdb`` dialect, buffer the rows *inside* the connection
context (``Result.freeze()``) and return a replayable result. Every other dialect keeps the
stock code path. ``install()`` is idempotent; ``uninstall()`` exists so a test can prove the
workaround is still needed (remove this module once that test starts failing upstream).
"""

from __future__ import annotations

from great_expectations.execution_engine.sqlalchemy_execution_engine import (
    SqlAlchemyExecutionEngine,
)

_ORIGINAL_EXECUTE_QUERY = SqlAlchemyExecutionEngine.execute_query


def _buffered_execute_query(self: SqlAlchemyExecutionEngine, query):  # noqa: ANN001, ANN202
    if self.dialect_name != "duckdb":
        return _ORIGINAL_EXECUTE_QUERY(self, query)
    with self.get_connection() as connection:
        result = self._execute_query_with_recovery(connection, query)
        # freeze() fetches every row now, while the connection is still open; calling the
        # frozen result returns a fresh Result that supports fetchall/fetchone/scalar/...
        return result.freeze()()


def install() -> None:
    """Patch ``SqlAlchemyExecutionEngine.execute_query`` (idempotent)."""
    SqlAlchemyExecutionEngine.execute_query = _buffered_execute_query  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore GX's original ``execute_query`` (used by the test that proves the need)."""
    SqlAlchemyExecutionEngine.execute_query = _ORIGINAL_EXECUTE_QUERY  # type: ignore[method-assign]


def is_installed() -> bool:
    """True while the buffered ``execute_query`` is in place."""
    return SqlAlchemyExecutionEngine.execute_query is _buffered_execute_query
