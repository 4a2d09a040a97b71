"""X12 835 remittance files: parsed by rcm.era, validated, appended to raw.era_<table>.

`rcm.era.parse_835_files(paths)` returns the remittance tables (polars frames) and `findings`
(PHI-free, severity `error` or `warning`; an unbalanced or unreadable file has error
findings). Per landing file:

1. parse; a file that yields no remittance data at all is quarantined whole (x12_unreadable)
   and not validated (like an unreadable CSV);
2. validation hook (`validate_batch(con, "ops.load_batch_era_claims", "remittances",
   load_id)`, e.g. rcm.validate.validate_and_record): the file's tables are staged as
   committed tables `ops.load_batch_era_<table>` (the remittances suite validates the claims
   table and reads its siblings by the same prefix, expectations.remittances.related_tables);
3. one transaction: a critical validation failure quarantines the whole file (its rows go to
   quarantine.era_<table>, status `quarantined`, reason_code validation_failed); otherwise its
   rows go to raw.era_<table> (tagged with _load_id and _source_file), validation warnings
   and parser error findings flag it (validation_success false). Its findings always go to
   raw.era_findings; the staging tables are dropped; one manifest row.

If the parser is not importable, `default_remittance_loader()` is None and remittance files
stay pending (unrecorded), to load on a later run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import duckdb

from rcm.load import manifest as mf
from rcm.load.discover import LandingFile, fingerprint
from rcm.load.quarantine import quarantine_file
from rcm.load.readers import ident

#: staging prefix of the tables the validation hook sees (committed, dropped in the file's
#: transaction); the hook gets the claims table, the suite finds the siblings by prefix
STAGE_PREFIX = "ops.load_batch_era_"
HOOK_TABLE = STAGE_PREFIX + "claims"
FINDINGS = "findings"


def default_remittance_loader(validate_batch: Callable | None = None) -> Callable[..., list] | None:
    """The 835 loader over rcm.era (None when the parser is not importable).

    The returned loader takes (con, files, load_run_id, validate_batch=None); a hook given
    here is the default for its calls.
    """
    try:
        from rcm.era import parse_835_files
    except ImportError:
        return None

    def loader(con, files, load_run_id, validate_batch: Callable | None = validate_batch):
        return load_remittances(con, files, load_run_id, parse_835_files, validate_batch)

    return loader


def _frames(parsed: Any) -> dict[str, Any]:
    """Table name -> frame, from the parser's result (Era835Tables.items() or a mapping)."""
    if isinstance(parsed, dict):
        return dict(parsed)
    if callable(getattr(parsed, "items", None)):
        return dict(parsed.items())
    raise TypeError("the 835 parser returned an unknown shape; expected a mapping of tables")


def _append(
    con: duckdb.DuckDBPyConnection,
    name: str,
    frame: Any,
    load_id: str,
    file: str,
    schema: str = "raw",
) -> int:
    con.register("_era_frame", frame)
    try:
        table = f"{schema}.era_{name}"
        con.execute(
            f"create table if not exists {table} as select *, ''::varchar as _load_id, "
            "''::varchar as _source_file from _era_frame limit 0"
        )
        return con.execute(
            f"insert into {table} by name select *, ? as {ident('_load_id')}, "
            f"? as {ident('_source_file')} from _era_frame",
            [load_id, file],
        ).fetchone()[0]
    finally:
        con.unregister("_era_frame")


def ensure_era_tables(con: duckdb.DuckDBPyConnection) -> None:
    """raw.era_<table> and quarantine.era_<table> with their columns, even before any 835.

    A hospital's first nights may bring no remittance yet; the models over these tables
    must still build (empty), so the tables exist from the first load on.
    """
    from rcm.era import schema as era_schema

    for name in era_schema.TABLES:
        _append(con, name, era_schema.empty(name), "", "")
        if name != FINDINGS:
            _append(con, name, era_schema.empty(name), "", "", "quarantine")


def _stage(con: duckdb.DuckDBPyConnection, frames: dict[str, Any]) -> list[str]:
    """Committed copies of the file's tables for the hook (GX reads them on other cursors)."""
    staged = []
    for name, frame in frames.items():
        if name == FINDINGS:
            continue
        table = STAGE_PREFIX + name
        con.register("_era_frame", frame)
        try:
            con.execute(f"create or replace table {table} as select * from _era_frame")
        finally:
            con.unregister("_era_frame")
        staged.append(table)
    return staged


def _drop(con: duckdb.DuckDBPyConnection, staged: list[str]) -> None:
    for table in staged:
        con.execute(f"drop table if exists {table}")


def _validate(
    con: duckdb.DuckDBPyConnection,
    frames: dict[str, Any],
    load_id: str,
    validate_batch: Callable,
) -> tuple[Any, list[str]]:
    """Stage the tables, run the hook, return (verdict, staged tables to drop)."""
    from rcm.load.loader import _verdict

    staged = _stage(con, frames)
    try:
        outcome = validate_batch(con, HOOK_TABLE, "remittances", load_id)
    except BaseException:
        _drop(con, staged)
        raise
    return _verdict(outcome), staged


def load_remittances(
    con: duckdb.DuckDBPyConnection,
    files: list[LandingFile],
    load_run_id: str,
    parse: Callable[[list], Any],
    validate_batch: Callable | None = None,
) -> list:
    """One transaction per 835 file: validated, its tables into raw.era_<table> (or into
    quarantine.era_<table> on a critical validation failure) + one manifest row."""
    from rcm.load.loader import FileResult, _commit, _manifest_base, make_load_id

    results = []
    for file in files:
        started = time.monotonic()
        file = file if file.sha256 else fingerprint(file)
        if mf.already_seen(con, file):
            continue
        load_id = make_load_id(load_run_id, file)
        base = _manifest_base(file, load_id, load_run_id)
        first = mf.first_load_of(con, file.sha256)
        frames = {} if first else _frames(parse([file.path]))
        has_data = any(f.height for name, f in frames.items() if name != FINDINGS)
        verdict, staged = None, []
        if validate_batch is not None and has_data:
            verdict, staged = _validate(con, frames, load_id, validate_batch)

        def work(
            frames=frames,
            first=first,
            base=base,
            file=file,
            started=started,
            verdict=verdict,
            staged=staged,
            has_data=has_data,
        ):
            rows = quarantined = 0
            errors = warnings = 0
            critical = verdict is not None and verdict.critical
            for name, frame in frames.items():
                if name == FINDINGS:
                    appended = _append(con, name, frame, base["load_id"], file.file_name)
                    errors = frame.filter(frame["severity"] == "error").height
                    warnings = appended - errors
                elif critical:  # the whole file is quarantined: its rows kept for review
                    quarantined += _append(
                        con, name, frame, base["load_id"], file.file_name, "quarantine"
                    )
                else:
                    rows += _append(con, name, frame, base["load_id"], file.file_name)
            _drop(con, staged)
            notes = [f"{warnings} warning finding(s) in raw.era_findings"] if warnings else []
            if verdict is not None:
                notes.extend(verdict.warnings)
            status, code, reason, success = "loaded", None, None, None
            if first:
                status, code = "duplicate", "duplicate_file"
                reason = f"same bytes (sha256) as {first[1]}"
            elif critical:
                status, code, success = "quarantined", "validation_failed", False
                reason = f"validation: {verdict.reason}"
                if errors:
                    reason += f"; {errors} error finding(s) in raw.era_findings"
                quarantine_file(con, file, base["load_id"], code, reason, base["loaded_at"])
            elif not has_data and errors:
                status, code, success = "quarantined", "x12_unreadable", False
                reason = f"no remittance data: {errors} error finding(s) in raw.era_findings"
                quarantine_file(con, file, base["load_id"], code, reason, base["loaded_at"])
            elif errors:
                code, success = "x12_errors", False
                reason = f"{errors} error finding(s) (e.g. unbalanced) in raw.era_findings"
            elif verdict is not None:
                success = verdict.success
            elif frames:
                success = True
            row = mf.ManifestRow(
                **base,
                rows_read=rows + quarantined,
                rows_loaded=rows,
                rows_quarantined=quarantined,
                status=status,
                validation_success=success,
                reason_code=code,
                reason=reason,
                duplicate_of_load_id=first[0] if first else None,
                warnings=notes,
                seconds=time.monotonic() - started,
            )
            mf.record(con, row)
            return row

        try:
            row = _commit(con, work)
        except BaseException:
            _drop(con, staged)  # after the rollback: the staging tables are committed
            raise
        results.append(
            FileResult(
                file,
                row.status,
                load_id,
                row.rows_read,
                row.rows_loaded,
                row.rows_quarantined,
                row.reason,
                row.seconds,
            )
        )
    return results
