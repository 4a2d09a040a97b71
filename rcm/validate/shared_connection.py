"""Let SQLAlchemy (and so GX) reuse a DuckDB connection the loader already holds open.

DuckDB refuses a second ``duckdb.connect()`` to a file already open in the process with a
different configuration, and duckdb-engine always adds its own ``custom_user_agent``, so
``create_engine("duckdb:///<same file>")`` fails while the loader's connection is open
("Can't open a connection to same database file with a different configuration").

Instead of opening the file again, :func:`shared_duckdb` registers the open connection
under a key and returns a connection string ``duckdb:///<key>``. A SQLAlchemy
``do_connect`` listener (public SQLAlchemy event API) intercepts connects whose database
is a registered key and hands out ``connection.cursor()`` -- a new DuckDB connection on the
same database instance -- wrapped as duckdb-engine expects. The connection string stays a
plain string, so GX can store the datasource in its YAML config.

A cursor sees only committed data: the loader must commit the batch before validating.

The runner caches GX objects per process (docs/validation.md, per-call overhead), so its
datasource keeps one *stable* key (``key=``): each validation binds the caller's current
connection to that key for the duration of the call, and the engine is disposed before the
binding ends, so the next connect -- from a cached engine -- reaches the next caller's
connection. A connect to an unbound key of ours raises instead of letting duckdb-engine
create a stray database file named after the key.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import duckdb_engine
from sqlalchemy import event

from rcm.errors import RcmError

_REGISTRY: dict[str, duckdb.DuckDBPyConnection] = {}
_LOCK = threading.Lock()
_KEY_PREFIX = "rcm-shared-duckdb-"


def _on_do_connect(dialect, conn_rec, cargs, cparams):  # noqa: ANN001, ANN202
    if dialect.name != "duckdb":
        return None
    database = cparams.get("database") or (cargs[0] if cargs else None)
    con = _REGISTRY.get(str(database)) if database else None
    if con is None:
        if str(database or "").startswith(_KEY_PREFIX):
            raise RcmError("GX connected outside a validation: no DuckDB connection is bound")
        return None
    return duckdb_engine.ConnectionWrapper(con.cursor())


def _ensure_listener() -> None:
    # Listen on duckdb-engine's dialect class: class-level listeners on Engine or
    # DefaultDialect do not reach dialect instances created later.
    if not event.contains(duckdb_engine.Dialect, "do_connect", _on_do_connect):
        event.listen(duckdb_engine.Dialect, "do_connect", _on_do_connect)


def stable_key(name: str) -> str:
    """A key for :func:`shared_duckdb` that stays the same for ``name`` (e.g. a GX root)."""
    return f"{_KEY_PREFIX}{uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:16]}"


@contextmanager
def shared_duckdb(con: duckdb.DuckDBPyConnection, key: str | None = None) -> Iterator[str]:
    """Register ``con`` for the duration of the block; yield a SQLAlchemy URL that uses it.

    ``key`` (from :func:`stable_key`) keeps the URL the same from call to call, so that a
    cached engine reaches whichever connection is bound now; default: a one-off key.
    """
    _ensure_listener()
    key = key or f"{_KEY_PREFIX}{uuid.uuid4().hex[:12]}"
    with _LOCK:
        if key in _REGISTRY:
            raise RcmError("a shared DuckDB key is already bound (nested validation?)")
        _REGISTRY[key] = con
    try:
        yield f"duckdb:///{key}"
    finally:
        with _LOCK:
            _REGISTRY.pop(key, None)
