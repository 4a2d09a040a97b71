"""Load landing files into the working copy: one DuckDB transaction per chunk of files.

Per file: fingerprint -> skip if seen / `duplicate` if the bytes are known -> read (typed
rows + reader rejects). Per chunk of files of one extract (`load_files`): row rules
(missing keys, versions, conflicts) -> validation hook (once for the chunk; per file when
anything fails) -> one transaction: raw rows + quarantine rows + a manifest row per file,
the invariant checked before commit. See docs/loading.md for every decision.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from rcm.errors import RcmError
from rcm.load import chunk_results
from rcm.load import manifest as mf
from rcm.load.discover import LandingFile, find_landing_files, fingerprint
from rcm.load.extracts import EXTRACTS, Extract
from rcm.load.quarantine import (
    quarantine_file,
    quarantine_reader_rejects,
    quarantine_typed_rows,
)
from rcm.load.readers import (
    BATCH,
    REJECTS,
    FileRejected,
    ReadResult,
    drop_batch,
    ident,
    q,
    read_file,
)
from rcm.load.warehouse import connect, ensure_schema, raw_columns

log = logging.getLogger(__name__)

#: validate_batch(con, table, extract, load_id) -> verdict. `table` is a temp table holding
#: exactly the rows about to be appended to raw.<extract> (same columns). The verdict may be
#: None / True (pass), False (critical failure), or an object / dict with `success` (bool),
#: optional `critical` (bool, default: not success), `reason` (str, value-free) and
#: `warnings` (iterable of str). A critical failure quarantines the whole file.
#: Optional attribute `validate_files(con, table, extract, chunk_id, load_ids)`: one call
#: for a chunk of files whose rows `table` holds (column `_load_id`), returning each load
#: id's verdict, or None to have each file validated on its own
#: (rcm.validate.hook.validate_and_record has it).
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

    @classmethod
    def of(cls, file: LandingFile, row: mf.ManifestRow) -> FileResult:
        """The result a file's manifest row records."""
        return cls(
            file,
            row.status,
            row.load_id,
            row.rows_read,
            row.rows_loaded,
            row.rows_quarantined,
            row.reason,
            row.seconds,
        )


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


def _tag(load_id: str) -> str:
    """The 16 hex of a load id (make_load_id)."""
    return load_id.rpartition(":")[2]


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


# ---------------------------------------------------------------- chunks of files

#: CSV / Parquet bytes of one extract read, ruled, validated and committed together: one GX
#: run and one transaction per chunk instead of per file (GX costs about 0.4 s per run
#: whatever the batch size; each commit syncs the WAL). Large enough that a night's files
#: take a few chunks, small enough that a chunk's typed rows stay a few hundred MB.
CHUNK_BYTES = 64 * 1024 * 1024
#: a chunk's GX run is named `<extract>-<run>:<extract>-chunk-<its first file's tag>`
CHUNK_TAG = "-chunk-"
_CHUNK_BATCH = "_chunk_batch"  # the chunk's typed rows; `_file_seq`: the file's position
_CHUNK_REJECTS = "_chunk_rejects"  # the chunk's reader rejects, with load_id and file_name


@dataclass(eq=False)
class _Staged:
    """A file whose typed rows are in the chunk's batch."""

    file: LandingFile
    seq: int
    base: dict[str, Any]
    read: ReadResult
    warnings: list[str] = field(default_factory=list)
    rows_warned: int = 0
    to_load: int = 0  # rows that passed the rules (appended unless the file is quarantined)
    verdict: Verdict | None = None


@dataclass(eq=False)
class _Whole:
    """A file decided whole in the chunk's transaction: a duplicate, or unreadable."""

    file: LandingFile
    base: dict[str, Any]
    status: str  # duplicate | quarantined
    code: str
    reason: str
    first: tuple[str, str] | None = None  # a duplicate's first load (load_id, file_name)


def load_file(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    load_run_id: str,
    validate_batch: BatchValidator | None = None,
) -> FileResult:
    """Load one landing file into the connected working copy (one transaction)."""
    (result,) = load_files(con, [file], load_run_id, validate_batch)
    return result


def load_files(
    con: duckdb.DuckDBPyConnection,
    files: list[LandingFile],
    load_run_id: str,
    validate_batch: BatchValidator | None = None,
    chunk_bytes: int | None = None,
) -> Iterator[FileResult]:
    """Encounter and charge files, in order, in chunks; yields each result once committed.

    A chunk is a run of consecutive files of one extract of at most `chunk_bytes` together
    (default CHUNK_BYTES; a larger file alone). Each file is read on its own (reader
    rejects and whole-file problems stay its own); the row rules run once over the chunk,
    with the outcome of loading file after file: a row is compared with raw and the rows of
    earlier files of the chunk ("already loaded"), and with the earlier rows of its own
    file. The hook validates every row the chunk would append in one call; if anything
    fails, the files are validated again one by one, so that warnings and quarantine are
    decided per file, as for a lone file. A file that fails critically is quarantined whole
    and committed with the files before it; the files after it were ruled against its
    rows, so they are read again in the next chunk. One transaction per chunk: a file is
    wholly in or out, and nothing of a chunk commits unless all of it does.
    """
    queue = list(files)
    limit = chunk_bytes or CHUNK_BYTES
    while queue:
        chunk, size = queue[:1], queue[0].bytes
        for file in queue[1:]:
            if file.extract != chunk[0].extract or size + file.bytes > limit:
                break
            chunk.append(file)
            size += file.bytes
        results, again = _load_chunk(con, chunk, load_run_id, validate_batch)
        yield from results
        queue = again + queue[len(chunk) :]


def _load_chunk(
    con: duckdb.DuckDBPyConnection,
    chunk: list[LandingFile],
    load_run_id: str,
    validate_batch: BatchValidator | None,
) -> tuple[list[FileResult], list[LandingFile]]:
    """(each file's result, in chunk order; the files to read again in a later chunk)."""
    if chunk[0].extract not in EXTRACTS:
        raise ValueError(f"this loader handles {sorted(EXTRACTS)}, not {chunk[0].extract}")
    extract = EXTRACTS[chunk[0].extract]
    started = time.monotonic()
    entries: list[FileResult | _Staged | _Whole] = []
    staged: list[_Staged] = []
    in_chunk: dict[str, tuple[str, str]] = {}  # sha256 -> (load_id, file_name) in this chunk
    final: list[FileResult] = []  # after a critical failure: files already final
    again: list[LandingFile] = []  # after a critical failure: files to read again
    try:
        drop_work_tables(con)
        for file in chunk:
            entry = _read_one(con, file, load_run_id, in_chunk, len(staged))
            entries.append(entry)
            if isinstance(entry, _Staged):
                staged.append(entry)
        cut, chunk_id = None, None
        if staged:
            _apply_rules(con, extract)
            _count_rows(con, extract, staged)
            cut, chunk_id = _validate_chunk(con, extract, staged, load_run_id, validate_batch)
        # the files after a critical failure were ruled against its rows: read them again
        # (those already final - skipped, failed - stay as they are)
        keep = next((i + 1 for i, e in enumerate(entries) if e is cut), len(entries))
        final = [e for e in entries[keep:] if isinstance(e, FileResult)]
        again = [e.file for e in entries[keep:] if not isinstance(e, FileResult)]
        entries = entries[:keep]
        share = (time.monotonic() - started) / max(len(entries), 1)
        rows = _commit_chunk(con, extract, entries, cut, chunk_id, share)
    except (OSError, duckdb.IOException) as exc:
        _rollback_quietly(con)
        drop_work_tables(con)
        reason = f"I/O error while loading ({type(exc).__name__})"
        results = [
            e if isinstance(e, FileResult) else _failed(con, e.file, load_run_id, reason, started)
            for e in entries
        ]
        return results + final, again
    except mf.ManifestInvariantError:
        drop_work_tables(con)
        raise
    except duckdb.Error as exc:
        # DuckDB messages can quote values (PHI): keep only the type, drop the context
        _rollback_quietly(con)
        drop_work_tables(con)
        raise LoadError(
            f"loading {_named(chunk)} failed unexpectedly ({type(exc).__name__}); "
            "nothing of this chunk was committed"
        ) from None
    results = []
    for entry, row in zip(entries, rows, strict=True):
        if row is None:
            results.append(entry)
            continue
        results.append(FileResult.of(entry.file, row))
        if row.status == "loaded":
            log.info(
                "loaded %s: %d read, %d loaded, %d quarantined",
                entry.file.relative_path,
                row.rows_read,
                row.rows_loaded,
                row.rows_quarantined,
            )
        else:
            log.info("%s %s: %s", row.status, entry.file.relative_path, row.reason)
    return results + final, again


def _named(chunk: list[LandingFile]) -> str:
    if len(chunk) == 1:
        return chunk[0].relative_path
    first, last = chunk[0].relative_path, chunk[-1].relative_path
    return f"{len(chunk)} {chunk[0].extract} files ({first} to {last})"


def _read_one(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    load_run_id: str,
    in_chunk: dict[str, tuple[str, str]],
    seq: int,
) -> FileResult | _Staged | _Whole:
    """One file of a chunk: final now (seen, failed), decided whole, or staged (read)."""
    started = time.monotonic()
    try:
        if file.sha256 is None:
            file = fingerprint(file)
    except OSError as exc:
        reason = f"I/O error while hashing ({type(exc).__name__})"
        return _failed(con, file, load_run_id, reason, started)
    if mf.already_seen(con, file):
        return FileResult(file, "skipped", reason="already loaded")
    load_id = make_load_id(load_run_id, file)
    base = _manifest_base(file, load_id, load_run_id)
    first = in_chunk.get(file.sha256) or mf.first_load_of(con, file.sha256)
    if first is not None:
        reason = f"same bytes (sha256) as {first[1]}"
        return _Whole(file, base, "duplicate", "duplicate_file", reason, first)
    try:
        read = read_file(con, file, load_id)
    except FileRejected as rejected:
        entry = _Whole(file, base, "quarantined", rejected.reason_code, rejected.reason)
    except (OSError, duckdb.IOException) as exc:
        reason = f"I/O error while loading ({type(exc).__name__})"
        return _failed(con, file, load_run_id, reason, started)
    else:
        entry = _Staged(file, seq, base, read)
        _stash(con, entry)
    in_chunk[file.sha256] = (load_id, file.file_name)
    return entry


def _stash(con: duckdb.DuckDBPyConnection, entry: _Staged) -> None:
    """Append the file's typed rows and reader rejects to the chunk's tables."""
    tag = f"{entry.seq}::integer as _file_seq"
    rejects = (
        f"select *, {q(entry.base['load_id'])} as load_id, "
        f"{q(entry.file.file_name)} as file_name, {tag} from {REJECTS}"
    )
    if entry.seq == 0:
        con.execute(f"create temp table {_CHUNK_BATCH} as select *, {tag} from {BATCH}")
        con.execute(f"create temp table {_CHUNK_REJECTS} as {rejects}")
    else:
        con.execute(f"insert into {_CHUNK_BATCH} by name select *, {tag} from {BATCH}")
        con.execute(f"insert into {_CHUNK_REJECTS} by name {rejects}")
    drop_batch(con)


def _validate_chunk(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    staged: list[_Staged],
    load_run_id: str,
    validate_batch: BatchValidator | None,
) -> tuple[_Staged | None, str | None]:
    """Each staged file's verdict. Returns (the first file that failed critically, if any;
    the id of the chunk's validation results to copy to every file, if it passed whole).

    A hook with `validate_files` (the nightly's) validates the chunk's rows in one call and
    gives each file its own verdict and results. Any other hook gets the chunk's rows in
    one call: when they pass every expectation, every file passed (each gets a copy of the
    chunk's ops.validation_results rows in the chunk's transaction, `validated_with` = the
    chunk id). Otherwise, or when `validate_files` returns None, the files are validated
    one by one, up to the first critical failure.
    """
    if validate_batch is None:
        return None, None
    # named after its first file (unique in the run, the same on a rerun)
    chunk_id = f"{load_run_id}:{extract.name}{CHUNK_TAG}{_tag(staged[0].base['load_id'])}"
    validate_files = getattr(validate_batch, "validate_files", None)
    if len(staged) > 1 and validate_files is not None:
        outcomes = _run_hook(
            con,
            lambda *args: validate_files(*args, [entry.base["load_id"] for entry in staged]),
            extract,
            chunk_id,
            "true",
            verdict=False,
        )
        if outcomes is not None:
            cut = None
            for entry in staged:
                if cut is not None:  # read and validated again in the next chunk
                    chunk_results.forget(con, entry.base["load_id"])
                    continue
                entry.verdict = _verdict(outcomes[entry.base["load_id"]])
                entry.warnings.extend(entry.verdict.warnings)
                if entry.verdict.critical:
                    cut = entry
            return cut, None
    elif len(staged) > 1:
        verdict = _run_hook(con, validate_batch, extract, chunk_id, "true")
        if chunk_results.clean(verdict):
            for entry in staged:
                entry.verdict = verdict
            return None, (chunk_id if chunk_results.has_results(con) else None)
        chunk_results.forget(con, chunk_id)
    for entry in staged:
        entry.verdict = _run_hook(
            con, validate_batch, extract, entry.base["load_id"], f"_file_seq = {entry.seq}"
        )
        entry.warnings.extend(entry.verdict.warnings)
        if entry.verdict.critical:
            return entry, None
    return None, None


def _run_hook(
    con: duckdb.DuckDBPyConnection,
    validate_batch: BatchValidator,
    extract: Extract,
    load_id: str,
    where: str,
    verdict: bool = True,
) -> Any:
    """The hook on a committed copy (in scratch) of the rows to append that match `where`;
    its outcome as a Verdict (or as it is, `verdict=False`)."""
    con.execute(
        f"create or replace table {HOOK_TABLE} as "
        f"select * exclude (_file_seq) from {TO_LOAD} where {where}"
    )
    try:
        outcome = validate_batch(con, HOOK_TABLE, extract.name, load_id)
        return _verdict(outcome) if verdict else outcome
    finally:
        con.execute(f"drop table if exists {HOOK_TABLE}")


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


# ---------------------------------------------------------------- row rules


def _identity(extract: Extract) -> list[str]:
    """Columns that identify one row version: a charge line; an encounter at a time."""
    return ["encounter_id", "updated_at"] if extract.name == "encounters" else ["charge_id"]


def _apply_rules(con: duckdb.DuckDBPyConnection, extract: Extract) -> None:
    """Split the chunk's rows into `load_batch` (a view: rows to append) and `_ruled`.

    Rules, first match wins: a value that does not type (strict integers); a missing key; a
    missing encounter_id on a charge; a missing updated_at on an encounter. Then, for the
    row identity (charge_id, or encounter_id + updated_at): rows already in raw are the
    reference, then the first row of the chunk in file order (`_file_seq`, `_row_number`).
    A later row with the same content (all typed contract columns equal) is
    `duplicate_row`; with other content, `conflict`; compared with a row of an earlier file
    it reads "already loaded", as it would had that file been committed first. Only rows
    whose identity repeats in the chunk or exists in raw are compared, so the common case
    (new keys) costs two small look-ups.
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
    for table in (_RULED, "_prior_keys", "_prior", "_attention", "_decided"):
        con.execute(f"drop table if exists {table}")
    con.execute(
        f"create temp view _checked as select *, {code_expr} as _rule_code, "
        f"{reason_expr} as _rule_reason from {_CHUNK_BATCH}"
    )
    # rows of raw with the batch's keys: first the keys (a semi join that reads raw's key
    # column only), then the rows of those keys. Most nights no key is already in raw, and
    # one semi join projecting every column read them all for the 15M charge lines at 1M
    # encounters: 0.5-0.7 s a chunk, against 0.3 s for the keys and nothing for the rows
    # (docs/benchmarks.md); with 1,000 repeated keys the two steps cost about 0.2 s more
    # than one (the key column read twice).
    con.execute(
        f"""
        create temp table _prior_keys as
        select distinct {key}
        from raw.{extract.name}
        semi join (select distinct {key} from _checked where _rule_code is null) as batch_keys
            using ({key})
        """
    )
    con.execute(
        f"""
        create temp table _prior as
        select {content}
        from raw.{extract.name}
        semi join _prior_keys using ({key})
        """
    )
    # identities that need a decision: repeated in the chunk, or already in raw
    con.execute(
        f"""
        create temp table _attention as
        select {part} from _checked where _rule_code is null group by all having count(*) > 1
        union
        select distinct {part} from _prior
        """
    )

    def reason(what: str) -> str:
        """An earlier row of the same file, or of an earlier file of the chunk."""
        same_file = q(f"{label}: {what} an earlier row in this file")
        earlier_file = q(f"{label}: {what} a row already loaded")
        return f"case when _first_seq = _file_seq then {same_file} else {earlier_file} end"

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
                first_value(_content) over by_key as _first_content,
                first_value(_file_seq) over by_key as _first_seq
            from candidates
            window by_key as (partition by {part} order by _file_seq, _row_number)
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
            * exclude (_rank, _content, _first_content, _first_seq, _in_raw, _same_in_raw),
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
                    then {reason("duplicate of")}
                when _rank > 1 then {reason("conflicts with")}
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
        anti join _decided using (_file_seq, _row_number)
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
    """Drop the temp objects of a chunk (views before the tables they read)."""
    for view in (TO_LOAD, "_checked"):
        con.execute(f"drop view if exists {view}")
    for table in (
        _RULED,
        "_prior_keys",
        "_prior",
        "_attention",
        "_decided",
        _CHUNK_BATCH,
        _CHUNK_REJECTS,
    ):
        con.execute(f"drop table if exists {table}")
    con.execute(f"drop table if exists {HOOK_TABLE}")
    drop_batch(con)


def _count_rows(con: duckdb.DuckDBPyConnection, extract: Extract, staged: list[_Staged]) -> None:
    """Per staged file, in one scan of the rows to load: how many there are, value-free
    warnings (values outside accepted sets, rows kept; missing or extra columns) and how
    many rows had a value outside an accepted set."""
    outside = {
        column: f"{ident(column)} is not null and {ident(column)} not in "
        f"({', '.join(q(v) for v in values)})"
        for column, values in extract.accepted.items()
    }
    exprs = [f"count(*) filter (where {cond})" for cond in outside.values()]
    exprs.append(f"count(*) filter (where {' or '.join(outside.values())})")
    exprs.append("count(*)")
    counts = {
        row[0]: row[1:]
        for row in con.execute(
            f"select _file_seq, {', '.join(exprs)} from {TO_LOAD} group by all"
        ).fetchall()
    }
    for entry in staged:
        read, warnings = entry.read, []
        if read.missing_columns:
            warnings.append("column(s) absent, loaded as null: " + ", ".join(read.missing_columns))
        if read.extra_columns:
            warnings.append(f"{read.extra_columns} unknown column(s) kept in _extra")
        found = counts.get(entry.seq, (0,) * len(exprs))
        for column, count in zip(outside, found, strict=False):
            if count:
                warnings.append(f"{column}: {count} row(s) outside the accepted set (kept)")
        entry.warnings, entry.rows_warned, entry.to_load = warnings, found[-2], found[-1]


# ---------------------------------------------------------------- commit


def _commit_chunk(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    entries: list[FileResult | _Staged | _Whole],
    cut: _Staged | None,
    chunk_id: str | None,
    share: float,
) -> list[mf.ManifestRow | None]:
    """One transaction: the chunk's rows into raw and quarantine, a manifest row per file
    (None for a file already final); `cut` (failed critically) is quarantined whole."""
    staged = [e for e in entries if isinstance(e, _Staged)]
    last = cut.seq if cut is not None else len(staged) - 1  # files after it go again
    names = ", ".join(ident(name) for name, _ in raw_columns(extract.name))

    def per_file(sql: str) -> dict[int, tuple]:
        return {row[0]: row[1:] for row in con.execute(sql).fetchall()}

    def work() -> list[mf.ManifestRow | None]:
        rejected: dict[int, tuple] = {}
        ruled: dict[int, tuple] = {}
        if staged:
            rejected = per_file(f"select _file_seq, count(*) from {_CHUNK_REJECTS} group by all")
            ruled = per_file(
                f"select _file_seq, count(*), count(*) filter "
                f"(where _reason_code = 'duplicate_row') from {_RULED} group by all"
            )
            loads = "true" if cut is None else f"_file_seq < {cut.seq}"
            loaded = con.execute(
                f"insert into raw.{extract.name} ({names}) "
                f"select {names} from {TO_LOAD} where {loads}"
            ).fetchone()[0]
            quarantined = quarantine_reader_rejects(
                con, extract.name, f"(from {_CHUNK_REJECTS} where _file_seq <= {last})"
            )
            quarantined += quarantine_typed_rows(
                con, extract.name, f"(from {_RULED} where _file_seq <= {last})"
            )
            if cut is not None:
                quarantined += quarantine_typed_rows(
                    con,
                    extract.name,
                    f"(from {TO_LOAD} where _file_seq = {cut.seq})",
                    f"validation: {cut.verdict.reason}",
                )
            # what was written, against what was read (the manifest rows below split it)
            read = sum(entry.read.rows_read for entry in staged[: last + 1])
            if loaded + quarantined != read:
                first = staged[0].file.relative_path
                raise mf.ManifestInvariantError(
                    f"{last + 1} {extract.name} file(s) from {first}: rows_read {read} != "
                    f"rows_loaded {loaded} + rows_quarantined {quarantined}; load rolled back"
                )
        rows: list[mf.ManifestRow | None] = []
        for entry in entries:
            if isinstance(entry, FileResult):
                rows.append(None)
                continue
            if isinstance(entry, _Whole):
                row = _whole_row(con, entry, share)
            else:
                seq = entry.seq
                (unreadable,) = rejected.get(seq, (0,))
                ruled_out, duplicates = ruled.get(seq, (0, 0))
                row = _staged_row(
                    con, entry, entry is cut, entry.to_load, unreadable + ruled_out, duplicates,
                    share,
                )  # fmt: skip
                if chunk_id is not None:
                    chunk_results.copy_to_file(con, chunk_id, entry.base["load_id"])
            mf.record(con, row)  # raises ManifestInvariantError -> rollback
            rows.append(row)
        return rows

    try:
        return _commit(con, work)
    finally:
        if chunk_id is not None:
            chunk_results.forget(con, chunk_id)
        drop_work_tables(con)


def _whole_row(con: duckdb.DuckDBPyConnection, entry: _Whole, share: float) -> mf.ManifestRow:
    """A duplicate file, or one the reader could not read (quarantined whole)."""
    if entry.status == "quarantined":
        quarantine_file(
            con, entry.file, entry.base["load_id"], entry.code, entry.reason,
            entry.base["loaded_at"],
        )  # fmt: skip
    return mf.ManifestRow(
        **entry.base,
        rows_read=0,
        rows_loaded=0,
        rows_quarantined=0,
        status=entry.status,
        validation_success=None,
        reason_code=entry.code,
        reason=entry.reason,
        duplicate_of_load_id=entry.first[0] if entry.first else None,
        seconds=share,
    )


def _staged_row(
    con: duckdb.DuckDBPyConnection,
    entry: _Staged,
    critical: bool,
    typed: int,
    ruled_out: int,
    duplicates: int,
    share: float,
) -> mf.ManifestRow:
    """A file that was read: loaded, or quarantined whole on a critical validation failure
    (its rows that passed the rules went to quarantine with the validation reason)."""
    verdict = entry.verdict
    if critical:
        reason = f"validation: {verdict.reason}"
        quarantine_file(
            con, entry.file, entry.base["load_id"], "validation_failed", reason,
            entry.base["loaded_at"],
        )  # fmt: skip
        return mf.ManifestRow(
            **entry.base,
            rows_read=entry.read.rows_read,
            rows_loaded=0,
            rows_quarantined=typed + ruled_out,
            status="quarantined",
            validation_success=False,
            reason_code="validation_failed",
            reason=reason,
            warnings=entry.warnings,
            seconds=share,
        )
    return mf.ManifestRow(
        **entry.base,
        rows_read=entry.read.rows_read,
        rows_loaded=typed,
        rows_quarantined=ruled_out,
        status="loaded",
        validation_success=None if verdict is None else verdict.success,
        rows_duplicate=duplicates,
        rows_warned=entry.rows_warned,
        warnings=entry.warnings,
        source_lines_exact=entry.read.lines_exact,
        seconds=share,
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
        for result in load_files(
            con, pending_files(con, Path(landing)), load_run_id, validate_batch
        ):
            summary.files.append(result)
            if progress is not None:
                progress(result)
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
    "load_files",
    "load_landing",
    "load_one",
    "pending_files",
]
