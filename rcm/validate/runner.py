"""Validate one load with its extract's GX suite, in-database, on the loader's connection."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import duckdb

from rcm.errors import RcmError

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage telemetry from a PHI pipeline

import great_expectations as gx  # noqa: E402
from great_expectations.checkpoint import UpdateDataDocsAction  # noqa: E402
from great_expectations.core.run_identifier import RunIdentifier  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
from great_expectations.data_context.types.resource_identifiers import (  # noqa: E402
    ExpectationSuiteIdentifier,
)

from expectations import SUITES  # noqa: E402
from expectations._common import MIN_UNIQUE_PROPORTION, Check, q  # noqa: E402
from rcm.validate import gx_duckdb  # noqa: E402
from rcm.validate.per_file import Parameters, split_by_file  # noqa: E402
from rcm.validate.results import ValidationOutcome, result_row  # noqa: E402
from rcm.validate.shared_connection import shared_duckdb, stable_key  # noqa: E402

DATASOURCE_NAME = "rcm_warehouse"
GX_DIR_ENV = "RCM_GX_DIR"

# BASIC with partial_unexpected_count = 0: GX reports counts and percentages, runs its
# "unexpected values" queries with LIMIT 0 (no extra table scans) and keeps no row values
# in results or Data Docs.
RESULT_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 0}


def _quote_table(table: str) -> str:
    return ".".join(q(part) for part in table.split("."))


def _column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    try:
        rows = con.execute(f"describe select * from {_quote_table(table)}").fetchall()
    except duckdb.Error as exc:
        reason = type(exc).__name__
        raise RcmError(f"cannot validate {table}: table not readable ({reason})") from exc
    return {name: str(dtype) for name, dtype, *_ in rows}


def batch_query(
    table: str,
    checks: list[Check],
    column_types: Mapping[str, str],
    batch_filter: str | None = None,
) -> str:
    """The batch as GX sees it: every column plus one boolean ``chk_*`` column per check.

    ``select *, <checks> from (select *, <helpers> from table [where filter])``. Row-wise
    expressions only at this level (set-based checks sit in uncorrelated subqueries), so
    the query streams: GX's LIMIT queries stop early and its one bundled aggregate query
    computes every check in a single scan. A check missing an input column is NULL.
    """
    source = _quote_table(table)
    if batch_filter:
        source = f"(select * from {source} where {batch_filter}) as batch_source"
    helpers, parts = [], []
    for check in checks:
        available = all(column in column_types for column in check.inputs)
        if available:
            helpers += [f"{sql} as {q(name)}" for name, sql in check.helpers]
        sql = check.sql.replace("{source}", source)
        expression = f"({sql})" if available else "cast(null as boolean)"
        parts.append(f"{expression} as {q(check.name)}")
    inner = f"select *{''.join(', ' + h for h in helpers)} from {source}"
    select = ",\n    ".join(["*", *parts])
    return f"select\n    {select}\nfrom ({inner}) as batch_rows"


def _database_path(con: duckdb.DuckDBPyConnection) -> Path | None:
    row = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    return Path(row[0]) if row and row[0] else None


def gx_root_for(con: duckdb.DuckDBPyConnection, gx_root: str | Path | None = None) -> Path:
    """Folder of the file-backed GX context: argument, $RCM_GX_DIR, or ``<warehouse>_gx``.

    Next to ``data/warehouse.duckdb`` that is ``data/warehouse_gx/`` (git-ignored by the
    ``data/warehouse*`` pattern); GX itself works in ``<root>/gx/``.
    """
    if gx_root is not None or os.environ.get(GX_DIR_ENV):
        return gx_root_for_database(None, gx_root)
    return gx_root_for_database(_database_path(con))


def gx_root_for_database(database: str | Path | None, gx_root: str | Path | None = None) -> Path:
    """:func:`gx_root_for` from a database *path* (what the flow holds after the load)."""
    if gx_root is not None:
        return Path(gx_root)
    if os.environ.get(GX_DIR_ENV):
        return Path(os.environ[GX_DIR_ENV])
    if database is None:
        raise RcmError(f"in-memory warehouse: pass gx_root or set {GX_DIR_ENV}")
    path = Path(database)
    return path.parent / f"{path.stem}_gx"


def _file_path(url: str) -> str:
    parsed = urlparse(url)
    return unquote(parsed.path) if parsed.scheme == "file" else url


# ---------------------------------------------------------------- per-process GX cache
#
# Registering the datasource, asset, suite, validation definition and checkpoint costs
# about a second per call on a 50-row batch (file-backed stores, YAML and JSON round trips,
# pairwise suite comparison), so it is done once per process and GX root, and again only
# when something changed: the batch query (another table or column types), the suite built
# from the Python source (e.g. other related tables), or the load run (``run_id``: the
# house rule re-registers every suite from code at least once per run).


@dataclass
class _Registration:
    """The GX objects of one extract under one root, valid while their inputs are unchanged."""

    query: str
    suite_fingerprint: str
    run_id: str | None
    suite: Any
    definition: Any
    checkpoints: dict[bool, Any] = field(default_factory=dict)  # update_data_docs -> checkpoint


@dataclass
class _Project:
    """One file-backed GX context (per resolved root) with its datasource."""

    root: Path
    key: str  # shared-connection key: the datasource's URL is the same on every call
    context: Any = None
    datasource: Any = None
    registrations: dict[str, _Registration] = field(default_factory=dict)
    undocumented: list[Any] = field(default_factory=list)  # results since the last docs build
    lock: threading.RLock = field(default_factory=threading.RLock)


_PROJECTS: dict[Path, _Project] = {}
_PROJECTS_LOCK = threading.Lock()
#: registrations (add_or_update calls) and runs since the last clear_cache(), for the tests
#: and the benchmark
STATS: dict[str, int] = dict.fromkeys(("contexts", "datasources", "assets", "suites", "runs"), 0)


def clear_cache() -> None:
    """Forget every cached GX object: the next call re-registers everything from code."""
    with _PROJECTS_LOCK:
        _PROJECTS.clear()
        STATS.update(dict.fromkeys(STATS, 0))


def _project(root: Path) -> _Project:
    resolved = root.resolve()
    with _PROJECTS_LOCK:
        project = _PROJECTS.get(resolved)
        if project is None:
            project = _PROJECTS[resolved] = _Project(resolved, stable_key(str(resolved)))
        return project


def _context(project: _Project) -> Any:
    if project.context is None:
        context = gx.get_context(mode="file", project_root_dir=str(project.root))
        context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        project.context = context
        STATS["contexts"] += 1
    return project.context


def _suite_fingerprint(suite: gx.ExpectationSuite) -> str:
    configs = [e.configuration.to_json_dict() for e in suite.expectations]
    text = json.dumps([suite.name, configs], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _registration(
    project: _Project,
    url: str,
    extract: str,
    query: str,
    suite: gx.ExpectationSuite,
    run_id: str | None,
) -> _Registration:
    """The cached registration of ``extract``, (re-)registered where its inputs changed.

    Runs inside the ``shared_duckdb`` block: registering a datasource tests its connection.
    """
    context = _context(project)
    if project.datasource is None:
        project.datasource = context.data_sources.add_or_update_sql(
            DATASOURCE_NAME, connection_string=url
        )
        project.registrations.clear()
        STATS["datasources"] += 1
    datasource = project.datasource
    fingerprint = _suite_fingerprint(suite)
    cached = project.registrations.get(extract)
    if (
        cached is not None
        and cached.query == query
        and cached.suite_fingerprint == fingerprint
        and (run_id is None or cached.run_id == run_id)
    ):
        return cached
    if cached is None or cached.query != query:
        if extract in datasource.get_asset_names():
            datasource.delete_asset(extract)
        asset = datasource.add_query_asset(extract, query=query)
        batch_definition = asset.add_batch_definition_whole_table("load")
        STATS["assets"] += 1
    else:
        batch_definition = cached.definition.data
    # The house rule: suites in code are the source of truth, registered with
    # add_or_update on every run (and whenever the code's suite differs from the stored one).
    stored_suite = context.suites.add_or_update(suite)
    STATS["suites"] += 1
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"{extract}_load", data=batch_definition, suite=stored_suite)
    )
    registration = _Registration(query, fingerprint, run_id, stored_suite, definition)
    project.registrations[extract] = registration
    return registration


def _checkpoint(project: _Project, extract: str, registration: _Registration, docs: bool) -> Any:
    """Per extract, one checkpoint without actions and one that updates Data Docs."""
    checkpoint = registration.checkpoints.get(docs)
    if checkpoint is None:
        checkpoint = project.context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"{extract}_checkpoint_docs" if docs else f"{extract}_checkpoint",
                validation_definitions=[registration.definition],
                actions=[UpdateDataDocsAction(name="update_data_docs")] if docs else [],
                result_format=RESULT_FORMAT,
            )
        )
        registration.checkpoints[docs] = checkpoint
    return checkpoint


def _run_checkpoint(
    project: _Project,
    url: str,
    extract: str,
    query: str,
    suite: gx.ExpectationSuite,
    run_id: str | None,
    update_data_docs: bool,
    run_identifier: RunIdentifier,
    parameters: dict[str, Any],
) -> tuple[_Registration, Any]:
    """Register what changed, run the checkpoint, hand every pooled cursor back."""
    completed = False
    try:
        registration = _registration(project, url, extract, query, suite, run_id)
        checkpoint = _checkpoint(project, extract, registration, update_data_docs)
        run = checkpoint.run(run_id=run_identifier, expectation_parameters=parameters)
        STATS["runs"] += 1
        completed = True
        return registration, run
    finally:
        # Dispose before the connection is unbound: the cached engines then reach the next
        # caller's connection through the listener (shared_connection.py).
        if project.datasource is not None:
            project.datasource.get_execution_engine().close()
            project.datasource.get_engine().dispose()
        if not completed:
            # Half-registered, or the stores changed under the cache: start from a new context.
            project.context = project.datasource = None
            project.registrations.clear()


def build_data_docs(
    gx_root: str | Path | None = None, *, database: str | Path | None = None, full: bool = False
) -> Path:
    """Build Data Docs once (e.g. at the end of the load stage); return the ``index.html``.

    Root: ``gx_root``, else ``$RCM_GX_DIR``, else ``<database dir>/<database stem>_gx`` (as
    :func:`gx_root_for`). Renders the validation results stored by this process since the
    last build (as the per-call ``UpdateDataDocsAction`` did) and the index; every stored
    result when ``full`` or when this process validated nothing under the root.
    """
    project = _project(gx_root_for_database(database, gx_root))
    with project.lock:
        context = _context(project)
        pending = list({key.to_tuple(): key for key in project.undocumented}.values())
        project.undocumented = []
        try:
            if pending and not full:
                context.build_data_docs(resource_identifiers=pending)
            else:
                context.build_data_docs()
        except BaseException:
            project.undocumented = [*pending, *project.undocumented]
            raise
        sites = context.get_docs_sites_urls()
    url = next((s.get("site_url") for s in sites if s.get("site_url")), None)
    if not url:
        raise RcmError(f"no local Data Docs site configured under {project.root}")
    return Path(_file_path(url))


def _parameters(rows: int) -> dict[str, Any]:
    """The suite parameters for a batch of `rows` rows (GX reports the unique proportion
    of no values as 0, so an empty batch is left to the row-count warning)."""
    return {MIN_UNIQUE_PROPORTION: 1.0 if rows else 0.0}


def validate_batch(
    con_or_db_path: duckdb.DuckDBPyConnection | str | Path,
    table: str,
    extract: str,
    load_id: str,
    *,
    batch_filter: str | None = None,
    related_tables: Mapping[str, str] | None = None,
    gx_root: str | Path | None = None,
    update_data_docs: bool = True,
    run_id: str | None = None,
    split_by: Sequence[str] | None = None,
) -> ValidationOutcome:
    """Run ``extract``'s suite over ``table`` (the load's rows) and return the outcome.

    ``con_or_db_path`` is the loader's open DuckDB connection (preferred: GX then works on
    cursors of it, see shared_connection.py) or a database path. The batch must be
    committed. ``batch_filter`` is an optional SQL predicate (e.g. ``load_id = '...'``)
    when ``table`` holds more than this load; ``related_tables`` overrides the sibling
    tables a multi-table suite (remittances) reads.

    GX objects are cached per process and root (see :func:`_registration`): the suite is
    re-registered from code when it changed, on the first call of a new ``run_id`` (the
    load run; None: once per process) and after :func:`clear_cache`. ``update_data_docs``
    rebuilds Data Docs for this result; the loader's hook passes False and the flow calls
    :func:`build_data_docs` once at the end of the load.

    ``split_by``: the load ids of the files whose rows the batch holds (column
    ``_load_id``); the outcome's ``by_file`` then has each file's outcome, computed from
    this one run (rcm.validate.per_file), or is None when that is not possible.
    """
    if extract not in SUITES:
        raise RcmError(f"no expectation suite for extract {extract!r}")
    suite_module = SUITES[extract]
    gx_duckdb.install()
    started, run_at = time.perf_counter(), datetime.now(UTC).replace(tzinfo=None)
    own_connection = not isinstance(con_or_db_path, duckdb.DuckDBPyConnection)
    con = duckdb.connect(str(con_or_db_path)) if own_connection else con_or_db_path
    try:
        column_types = _column_types(con, table)
        query = batch_query(
            table, suite_module.check_columns(column_types), column_types, batch_filter
        )
        related = None
        if hasattr(suite_module, "related_tables"):
            related = {**suite_module.related_tables(table), **(related_tables or {})}
        root = gx_root_for(con, gx_root)
        source = _quote_table(table)
        if batch_filter:
            source = f"(select * from {source} where {batch_filter}) as batch_source"
        batch_rows = con.execute(f"select count(*) from {source}").fetchone()[0]
        parameters = _parameters(batch_rows)
        suite = suite_module.build_suite(related)
        project = _project(root)
        with project.lock, shared_duckdb(con, project.key) as url:
            # A cached object can be stale (e.g. the GX folder was removed mid-process): then
            # the call is retried once from a new context, as every call used to start.
            for retry in (bool(project.registrations), False):
                try:
                    registration, run = _run_checkpoint(
                        project,
                        url,
                        extract,
                        query,
                        suite,
                        run_id,
                        update_data_docs,
                        RunIdentifier(run_name=f"{extract}-{load_id}", run_time=run_at),
                        parameters,
                    )
                    break
                except Exception:
                    if not retry:
                        raise
            suite_id = ExpectationSuiteIdentifier(name=registration.suite.name)
            by_file = None
            if split_by is not None:
                by_file = split_by_file(
                    con,
                    query,
                    [evr for result in run.run_results.values() for evr in result.results],
                    list(split_by),
                    chunk_id=load_id,
                    extract=extract,
                    table=table,
                    suite_name=suite_module.SUITE_NAME,
                    run_at=run_at,
                    parameters=Parameters(
                        {e.id: e.configuration.kwargs for e in registration.suite.expectations},
                        _parameters,
                    ),
                )
            if not update_data_docs:
                project.undocumented += [*run.run_results, suite_id]
            sites = project.context.get_docs_sites_urls() if update_data_docs else []
    finally:
        if own_connection:
            con.close()

    rows: list[dict[str, Any]] = []
    for suite_result in run.run_results.values():
        for evr in suite_result.results:
            rows.append(
                result_row(
                    evr,
                    load_id=load_id,
                    extract=extract,
                    table=table,
                    suite_name=suite_module.SUITE_NAME,
                    run_at=run_at,
                )
            )
    failed = [row for row in rows if not row["success"]]
    docs = next((s.get("site_url") for s in sites if s.get("site_url")), None)
    return ValidationOutcome(
        load_id=load_id,
        extract=extract,
        table=table,
        suite_name=suite_module.SUITE_NAME,
        success=not failed,
        has_critical_failure=any(row["severity"] == "critical" for row in failed),
        has_warning_failure=any(row["severity"] != "critical" for row in failed),
        results=rows,
        row_count=batch_rows,
        data_docs_index=_file_path(docs) if docs else None,
        run_at=run_at,
        elapsed_seconds=time.perf_counter() - started,
        by_file=by_file,
    )
