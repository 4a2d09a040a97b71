"""Load landing files into the working copy: one DuckDB transaction per file.

Per file: fingerprint -> skip if seen / `duplicate` if the bytes are known -> read (typed
batch + reader rejects) -> row rules (missing keys, versions, conflicts) -> validation hook
-> one transaction: raw rows + quarantine rows + manifest row, invariant checked before
commit. See docs/loading.md for every decision.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from rcm.errors import RcmError
from rcm.load import manifest as mf
from rcm.load.discover import LandingFile, find_landing_files, fingerprint
from rcm.load.extracts import EXTRACTS, Extract
from rcm.load.quarantine import (
    quarantine_file,
    quarantine_reader_rejects,
    quarantine_typed_rows,
)
from rcm.load.readers import BATCH, FileRejected, drop_batch, ident, q, read_file
from rcm.load.warehouse import connect, ensure_schema, raw_columns

log = logging.getLogger(__name__)

#: validate_batch(con, table, extract, load_id) -> verdict. `table` is a temp table holding
#: exactly the rows about to be appended to raw.<extract> (same columns). The verdict may be
#: None / True (pass), False (critical failure), or an object / dict with `success` (bool),
#: optional `critical` (bool, default: not success), `reason` (str, value-free) and
#: `warnings` (iterable of str). A critical failure quarantines the whole file.
BatchValidator = Callable[[duckdb.DuckDBPyConnection, str, str, str], Any]

#: remittance hook: (con, files, load_run_id[, validate_batch=hook]) -> iterable of
#: FileResult-like results. `load_landing` passes `validate_batch` (keyword) only when it has
#: a hook; the default loader (rcm.load.remittances) validates each 835 file's tables with it.
RemittanceLoader = Callable[..., Any]

TO_LOAD = "load_batch"  # temp table: the rows about to be appended to raw
#: what the validation hook sees: a committed copy of TO_LOAD, so that validators working on
#: other cursors of the connection (GX) can read it; in the in-memory `scratch` database
#: (rcm.load.warehouse.connect): never written to the warehouse file, dropped after the file
HOOK_TABLE = "scratch.load_batch"
_RULED = "_ruled"


class LoadError(RcmError):
    """An unexpected failure while loading a file; PHI-free, the file's transaction undone."""


@dataclass(frozen=True)
class Verdict:
    success: bool | None
    critical: bool
    reason: str | None
    warnings: tuple[str, ...]


def _verdict(result: Any) -> Verdict:
    if result is None or result is True:
        return Verdict(True, False, None, ())
    if result is False:
        return Verdict(False, True, "failed critical validation", ())

    def get(name: str, default: Any = None) -> Any:
        if isinstance(result, dict):
            return result.get(name, default)
        return getattr(result, name, default)

    success = bool(get("success", True))
    critical = get("critical", get("has_critical_failure"))
    critical = (not success) if critical is None else bool(critical)
    failed = _failed_expectations(result)
    reason = get("reason") or _describe(
        [row for row in failed if row.get("severity", "critical") == "critical"]
    )
    warnings = get("warnings")
    if warnings is None:
        warnings = [
            "validation warning: " + _describe([row])
            for row in failed
            if row.get("severity", "critical") != "critical"
        ]
    if critical and not reason:
        reason = "failed critical validation"
    return Verdict(success, critical, reason, tuple(str(w) for w in warnings))


def _failed_expectations(result: Any) -> list[dict]:
    """Failed expectation rows of a rcm.validate ValidationOutcome (`failed()`), if any."""
    failed = getattr(result, "failed", None)
    if callable(failed):
        try:
            return [row for row in failed() if isinstance(row, dict)]
        except Exception:  # noqa: BLE001 - a reason is a nicety, never a reason to fail
            return []
    return []


def _describe(rows: list[dict]) -> str | None:
    """'expect_x(column): 3 unexpected; ...' - names and counts only (PHI-free)."""
    parts = []
    for row in rows:
        text = str(row.get("expectation_type", "expectation"))
        if row.get("column_name"):
            text += f"({row['column_name']})"
        if row.get("unexpected_count") is not None:
            text += f": {row['unexpected_count']} unexpected"
        parts.append(text)
    return "; ".join(parts) or None


@dataclass
class FileResult:
    file: LandingFile
    status: str  # loaded | duplicate | quarantined | failed | skipped (already seen)
    load_id: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    seconds: float = 0.0


@dataclass
class LoadSummary:
    load_run_id: str
    files: list[FileResult] = field(default_factory=list)
    remittances_pending: list[LandingFile] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def describe(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("loaded", "duplicate", "quarantined", "failed")]
        return (
            f"load {self.load_run_id}: {', '.join(parts)} file(s); "
            f"{self.rows_loaded} rows loaded, {self.rows_quarantined} quarantined"
        )


def make_load_id(load_run_id: str, file: LandingFile) -> str:
    """`<load_run_id>:<16 hex>`, unique per run, path and content (reruns reproduce it)."""
    tag = hashlib.sha256(f"{file.relative_path}\0{file.sha256}".encode()).hexdigest()[:16]
    return f"{load_run_id}:{tag}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# ---------------------------------------------------------------- planning


def pending_files(
    con: duckdb.DuckDBPyConnection, landing: Path, extracts: Iterable[str] = tuple(EXTRACTS)
) -> list[LandingFile]:
    """Landing files of `extracts` not yet in the manifest (fingerprinted), in load order."""
    # same path, size and mtime as a file already recorded: seen, not even re-hashed
    new = [f for f in find_landing_files(landing, tuple(extracts)) if not mf.known_sha256(con, f)]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        hashed = list(pool.map(_try_fingerprint, new))  # hashlib releases the GIL
    # an unreadable file stays unhashed: load_file records it as failed
    return [f for f in hashed if f.sha256 is None or not mf.already_seen(con, f)]


def _try_fingerprint(file: LandingFile) -> LandingFile:
    try:
        return fingerprint(file)
    except OSError:
        return file


# ---------------------------------------------------------------- one file


def load_file(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    load_run_id: str,
    validate_batch: BatchValidator | None = None,
) -> FileResult:
    """Load one landing file into the connected working copy (one transaction)."""
    started = time.monotonic()
    base: dict[str, Any] = {}
    try:
        if file.sha256 is None:
            file = fingerprint(file)
    except OSError as exc:
        return _failed(
            con, file, load_run_id, f"I/O error while hashing ({type(exc).__name__})", started
        )
    if mf.already_seen(con, file):
        return FileResult(file, "skipped", reason="already loaded")
    load_id = make_load_id(load_run_id, file)
    base = _manifest_base(file, load_id, load_run_id)
    first = mf.first_load_of(con, file.sha256)
    if first is not None:
        row = mf.ManifestRow(
            **base,
            rows_read=0,
            rows_loaded=0,
            rows_quarantined=0,
            status="duplicate",
            validation_success=None,
            reason_code="duplicate_file",
            reason=f"same bytes (sha256) as {first[1]}",
            duplicate_of_load_id=first[0],
            seconds=time.monotonic() - started,
        )
        _commit(con, lambda: mf.record(con, row))
        return FileResult(file, "duplicate", load_id, reason=row.reason, seconds=row.seconds)
    if file.extract not in EXTRACTS:
        raise ValueError(f"load_file handles {sorted(EXTRACTS)}, not {file.extract}")
    extract = EXTRACTS[file.extract]
    try:
        try:
            drop_work_tables(con)
            read = read_file(con, file, load_id)
        except FileRejected as rejected:
            return _quarantine_whole(
                con, file, base, started, rejected.reason_code, rejected.reason
            )
        _apply_rules(con, extract)
        warnings, rows_warned = _warnings(con, extract, read)
        verdict = None
        if validate_batch is not None:
            con.execute(f"create or replace table {HOOK_TABLE} as from {TO_LOAD}")
            try:
                outcome = validate_batch(con, HOOK_TABLE, extract.name, load_id)
            except BaseException:
                con.execute(f"drop table if exists {HOOK_TABLE}")
                raise
            verdict = _verdict(outcome)
            warnings.extend(verdict.warnings)
        if verdict is not None and verdict.critical:
            return _quarantine_whole(
                con,
                file,
                base,
                started,
                "validation_failed",
                f"validation: {verdict.reason}",
                read.rows_read,
                warnings,
            )
        return _commit_load(con, file, extract, base, read, warnings, rows_warned, verdict, started)
    except (OSError, duckdb.IOException) as exc:
        _rollback_quietly(con)
        return _failed(
            con, file, load_run_id, f"I/O error while loading ({type(exc).__name__})", started
        )
    except mf.ManifestInvariantError:
        raise
    except duckdb.Error as exc:
        # DuckDB messages can quote values (PHI): keep only the type, drop the context
        _rollback_quietly(con)
        raise LoadError(
            f"loading {file.relative_path} failed unexpectedly ({type(exc).__name__}); "
            "nothing of this file was committed"
        ) from None


def _manifest_base(file: LandingFile, load_id: str, load_run_id: str) -> dict[str, Any]:
    return dict(
        file_name=file.file_name,
        extract=file.extract,
        sha256=file.sha256,
        bytes=file.bytes,
        loaded_at=_now(),
        load_id=load_id,
        load_run_id=load_run_id,
        file_path=file.relative_path,
        file_mtime_ns=file.mtime_ns,
        format=file.format,
    )


def _commit(con: duckdb.DuckDBPyConnection, work: Callable[[], Any]) -> Any:
    con.execute("begin transaction")
    try:
        out = work()
    except BaseException:
        _rollback_quietly(con)
        raise
    con.execute("commit")
    return out


def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("rollback")
    except duckdb.Error:
        pass


def _failed(con, file: LandingFile, load_run_id: str, reason: str, started: float) -> FileResult:
    load_id = make_load_id(load_run_id, file)
    row = mf.ManifestRow(
        **_manifest_base(file, load_id, load_run_id),
        rows_read=0,
        rows_loaded=0,
        rows_quarantined=0,
        status="failed",
        validation_success=None,
        reason_code="io_error",
        reason=reason,
        seconds=time.monotonic() - started,
    )
    _commit(con, lambda: mf.record(con, row))
    log.warning("load failed for %s: %s", file.relative_path, reason)
    return FileResult(file, "failed", load_id, reason=reason, seconds=row.seconds)


def _quarantine_whole(
    con,
    file: LandingFile,
    base: dict[str, Any],
    started: float,
    code: str,
    reason: str,
    rows_read: int = 0,
    warnings: list[str] | None = None,
) -> FileResult:
    """Whole-file quarantine. Rows already read (validation failure) go to quarantine too."""

    def work() -> mf.ManifestRow:
        quarantined = 0
        if rows_read:
            quarantined += quarantine_reader_rejects(
                con, file.extract, base["load_id"], file.file_name
            )
            quarantined += quarantine_typed_rows(con, file.extract, TO_LOAD, reason)
            quarantined += quarantine_typed_rows(con, file.extract, _RULED)
        quarantine_file(con, file, base["load_id"], code, reason, base["loaded_at"])
        row = mf.ManifestRow(
            **base,
            rows_read=rows_read,
            rows_loaded=0,
            rows_quarantined=quarantined,
            status="quarantined",
            validation_success=False if code == "validation_failed" else None,
            reason_code=code,
            reason=reason,
            warnings=warnings or [],
            seconds=time.monotonic() - started,
        )
        mf.record(con, row)
        return row

    row = _commit(con, work)
    drop_work_tables(con)
    log.info("quarantined %s: %s", file.relative_path, reason)
    return FileResult(
        file,
        "quarantined",
        base["load_id"],
        rows_read,
        0,
        row.rows_quarantined,
        reason,
        row.seconds,
    )


# ---------------------------------------------------------------- row rules


def _identity(extract: Extract) -> list[str]:
    """Columns that identify one row version: a charge line; an encounter at a time."""
    return ["encounter_id", "updated_at"] if extract.name == "encounters" else ["charge_id"]


def _apply_rules(con: duckdb.DuckDBPyConnection, extract: Extract) -> None:
    """Split `_batch` into `load_batch` (a view: rows to append) and `_ruled` (to quarantine).

    Rules, first match wins: a value that does not type (strict integers); a missing key; a
    missing encounter_id on a charge; a missing updated_at on an encounter. Then, for the
    row identity (charge_id, or encounter_id + updated_at): rows already in raw are the
    reference, then the first row of the file (`_row_number`). A later row with the same
    content (all typed contract columns equal) is `duplicate_row`; with other content,
    `conflict`. Only rows whose identity repeats in the file or exists in raw are compared,
    so the common case (new keys) costs two small look-ups.
    """
    missing = []
    required = (extract.key,) + tuple(c for c in extract.required if c != extract.key)
    for column in required:
        col = ident(column)
        kind = "missing key" if column == extract.key else "missing"
        code = "missing_key" if column in ("encounter_id", "charge_id") else "missing_version"
        blank = (
            f"{col} is null"
            if extract.column(column).sql_type != "VARCHAR"
            else f"({col} is null or trim({col}) = '')"
        )
        missing.append((blank, code, f"{column}: {kind}"))
    code_expr = (
        "case when _type_reason is not null then 'bad_value' "
        + " ".join(f"when {b} then {q(c)}" for b, c, _ in missing)
        + " end"
    )
    reason_expr = (
        "case when _type_reason is not null then _type_reason "
        + " ".join(f"when {b} then {q(r)}" for b, _, r in missing)
        + " end"
    )
    idcols = _identity(extract)
    part = ", ".join(ident(c) for c in idcols)
    using = ", ".join(ident(c) for c in idcols)
    key = ident(extract.key)
    content = ", ".join(ident(c) for c in extract.names)
    label = " + ".join(idcols) if extract.name == "encounters" else extract.key
    for view in (TO_LOAD, "_checked"):
        con.execute(f"drop view if exists {view}")
    for table in (_RULED, "_prior", "_attention", "_decided"):
        con.execute(f"drop table if exists {table}")
    con.execute(
        f"create temp view _checked as select *, {code_expr} as _rule_code, "
        f"{reason_expr} as _rule_reason from {BATCH}"
    )
    # rows of raw with the batch's keys (a semi join: DuckDB pushes the key range down)
    con.execute(
        f"""
        create temp table _prior as
        select {content}
        from raw.{extract.name}
        semi join (select distinct {key} from _checked where _rule_code is null) as batch_keys
            using ({key})
        """
    )
    # identities that need a decision: repeated in the file, or already in raw
    con.execute(
        f"""
        create temp table _attention as
        select {part} from _checked where _rule_code is null group by all having count(*) > 1
        union
        select distinct {part} from _prior
        """
    )
    con.execute(
        f"""
        create temp table _decided as
        with candidates as (
            select checked.*, row({content}) as _content
            from _checked as checked
            semi join _attention using ({using})
            where _rule_code is null
        ),
        ranked as (
            select
                *,
                row_number() over by_key as _rank,
                first_value(_content) over by_key as _first_content
            from candidates
            window by_key as (partition by {part} order by _row_number)
        ),
        flagged as (
            select
                ranked.*,
                exists (select 1 from _prior where {
            " and ".join(f"_prior.{ident(c)} = ranked.{ident(c)}" for c in idcols)
        })
                    as _in_raw,
                exists (select 1 from _prior where row({
            ", ".join(f"_prior.{ident(c)}" for c in extract.names)
        })
                    is not distinct from ranked._content) as _same_in_raw
            from ranked
        )
        select
            * exclude (_rank, _content, _first_content, _in_raw, _same_in_raw),
            case
                when _same_in_raw then 'duplicate_row'
                when _in_raw then 'conflict'
                when _rank > 1 and _content is not distinct from _first_content
                    then 'duplicate_row'
                when _rank > 1 then 'conflict'
            end as _reason_code,
            case
                when _same_in_raw then {q(label + ": duplicate of a row already loaded")}
                when _in_raw then {q(label + ": conflicts with a row already loaded")}
                when _rank > 1 and _content is not distinct from _first_content
                    then {q(label + ": duplicate of an earlier row in this file")}
                when _rank > 1 then {q(label + ": conflicts with an earlier row in this file")}
            end as _reason
        from flagged
        """
    )
    internal = "_rule_code, _rule_reason, _type_reason, _raw_values"
    con.execute(
        f"""
        create temp view {TO_LOAD} as
        select * exclude ({internal})
        from _checked
        anti join _decided using (_row_number)
        where _rule_code is null
        union all by name
        select * exclude ({internal}, _reason_code, _reason)
        from _decided
        where _reason_code is null
        """
    )
    con.execute(
        f"""
        create temp table {_RULED} as
        select * exclude (_rule_code, _rule_reason),
               _rule_code as _reason_code, _rule_reason as _reason
        from _checked where _rule_code is not null
        union all by name
        select * from _decided where _reason_code is not null
        """
    )


def drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the per-file temp objects (views before the tables they read)."""
    for view in (TO_LOAD, "_checked"):
        con.execute(f"drop view if exists {view}")
    for table in (_RULED, "_prior", "_attention", "_decided"):
        con.execute(f"drop table if exists {table}")
    con.execute(f"drop table if exists {HOOK_TABLE}")
    drop_batch(con)


def _warnings(con, extract: Extract, read) -> tuple[list[str], int]:
    """Value-free warnings: values outside accepted sets (rows kept), missing/extra columns."""
    warnings = []
    if read.missing_columns:
        warnings.append("column(s) absent, loaded as null: " + ", ".join(read.missing_columns))
    if read.extra_columns:
        warnings.append(f"{read.extra_columns} unknown column(s) kept in _extra")
    outside = {
        column: f"{ident(column)} is not null and {ident(column)} not in "
        f"({', '.join(q(v) for v in values)})"
        for column, values in extract.accepted.items()
    }
    exprs = [f"count(*) filter (where {cond})" for cond in outside.values()]
    exprs.append(f"count(*) filter (where {' or '.join(outside.values())})")
    counts = con.execute(f"select {', '.join(exprs)} from {TO_LOAD}").fetchone()
    for column, count in zip(outside, counts, strict=False):
        if count:
            warnings.append(f"{column}: {count} row(s) outside the accepted set (kept)")
    return warnings, int(counts[-1])


# ---------------------------------------------------------------- commit


def _commit_load(
    con,
    file: LandingFile,
    extract: Extract,
    base: dict[str, Any],
    read,
    warnings: list[str],
    rows_warned: int,
    verdict: Verdict | None,
    started: float,
) -> FileResult:
    names = ", ".join(ident(name) for name, _ in raw_columns(extract.name))

    def work() -> mf.ManifestRow:
        loaded = con.execute(
            f"insert into raw.{extract.name} ({names}) select {names} from {TO_LOAD}"
        ).fetchone()[0]
        quarantined = quarantine_reader_rejects(con, extract.name, base["load_id"], file.file_name)
        quarantined += quarantine_typed_rows(con, extract.name, _RULED)
        duplicates = con.execute(
            f"select count(*) from {_RULED} where _reason_code = 'duplicate_row'"
        ).fetchone()[0]
        row = mf.ManifestRow(
            **base,
            rows_read=read.rows_read,
            rows_loaded=loaded,
            rows_quarantined=quarantined,
            status="loaded",
            validation_success=None if verdict is None else verdict.success,
            rows_duplicate=duplicates,
            rows_warned=rows_warned,
            warnings=warnings,
            source_lines_exact=read.lines_exact,
            seconds=time.monotonic() - started,
        )
        mf.record(con, row)  # raises ManifestInvariantError -> rollback
        return row

    row = _commit(con, work)
    drop_work_tables(con)
    log.info(
        "loaded %s: %d read, %d loaded, %d quarantined",
        file.relative_path,
        row.rows_read,
        row.rows_loaded,
        row.rows_quarantined,
    )
    return FileResult(
        file,
        "loaded",
        base["load_id"],
        row.rows_read,
        row.rows_loaded,
        row.rows_quarantined,
        None,
        row.seconds,
    )


# ---------------------------------------------------------------- whole landing folder


def load_one(
    warehouse_working_copy: Path,
    file: LandingFile,
    load_run_id: str,
    validate_batch: BatchValidator | None = None,
) -> FileResult:
    """One file with its own connection (a Prefect task per file; run them one at a time)."""
    con = connect(warehouse_working_copy)
    try:
        ensure_schema(con)
        return load_file(con, file, load_run_id, validate_batch)
    finally:
        con.close()


def load_landing(
    landing: Path,
    warehouse_working_copy: Path,
    load_run_id: str,
    validate_batch: BatchValidator | None = None,
    remittance_loader: RemittanceLoader | None = None,
    progress: Callable[[FileResult], None] | None = None,
) -> LoadSummary:
    """Load every new file of the landing folder into the working copy, one after another.

    `progress`, when given, is called with each file's result as soon as it is final.

    Encounters and charges are loaded here; remittance files go to `remittance_loader`
    (default: `rcm.load.remittances.default_remittance_loader()`, None while the 835 parser
    is not available - the files then stay pending, unrecorded, and load on a later run),
    with `validate_batch` passed on as a keyword when given (every 835 file validated too).
    """
    started = time.monotonic()
    summary = LoadSummary(load_run_id)
    con = connect(warehouse_working_copy)
    try:
        ensure_schema(con)
        from rcm.load.remittances import ensure_era_tables

        ensure_era_tables(con)
        for file in pending_files(con, Path(landing)):
            summary.files.append(load_file(con, file, load_run_id, validate_batch))
            if progress is not None:
                progress(summary.files[-1])
        remit_files = pending_files(con, Path(landing), ("remittances",))
        if remit_files and remittance_loader is None:
            from rcm.load.remittances import default_remittance_loader

            remittance_loader = default_remittance_loader()
        if remit_files and remittance_loader is not None:
            hook = {} if validate_batch is None else {"validate_batch": validate_batch}
            # the loader yields each file's result as it lands (progress as they come)
            for result in remittance_loader(con, remit_files, load_run_id, **hook) or ():
                summary.files.append(result)
                if progress is not None:
                    progress(result)
        else:
            summary.remittances_pending = remit_files
    finally:
        con.close()
    summary.seconds = time.monotonic() - started
    return summary


__all__ = [
    "BatchValidator",
    "FileResult",
    "LoadSummary",
    "load_file",
    "load_landing",
    "load_one",
    "pending_files",
]
