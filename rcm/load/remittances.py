"""X12 835 remittance files: parsed by rcm.era, validated, appended to raw.era_<table>.

`rcm.era.parse_835_files(paths)` returns the remittance tables (polars frames) and `findings`
(PHI-free, severity `error` or `warning`; an unbalanced or unreadable file has error
findings). The new files of a night go in chunks of about 48 MB of 835 text:

1. one parse of the chunk (files whose bytes were loaded before, or appear earlier in the
   chunk, are duplicates and are not parsed); the rows are split per file by `source_file`;
2. one validation of the chunk (`validate_batch(con, "scratch.load_batch_era_claims",
   "remittances", chunk_id)`, e.g. rcm.validate.validate_and_record): its tables are staged
   as committed tables `scratch.load_batch_era_<table>`, in memory (the remittances suite
   validates the claims table and reads its siblings by the same prefix,
   expectations.remittances.related_tables; of a sibling only the columns the suite reads
   are staged, expectations.remittances.SIBLING_COLUMNS). If the chunk passes every
   expectation, every file of it passed; if anything failed, its results are discarded and
   each file of the chunk is staged and validated on its own, so that what is quarantined
   or flagged is decided per file;
3. one transaction for the chunk's files (one WAL sync instead of one per file, and one
   insert per table for the chunk's rows; a file is still wholly in or out, and nothing of
   a chunk commits unless all of it does). Per file: a critical validation failure
   quarantines the whole file (its
   rows go to quarantine.era_<table>, status `quarantined`, reason_code validation_failed);
   otherwise its rows go to raw.era_<table> (tagged with _load_id and _source_file),
   validation warnings and parser error findings flag it (validation_success false). Its
   findings always go to raw.era_findings; the file's ops.validation_results rows (a copy
   of the chunk's, `validated_with` = the chunk's id, or its own); one manifest row. A file
   that yields no remittance data at all is quarantined whole (x12_unreadable).

If the parser is not importable, `default_remittance_loader()` is None and remittance files
stay pending (unrecorded), to load on a later run.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

import duckdb

from rcm.load import chunk_results
from rcm.load import manifest as mf
from rcm.load.discover import LandingFile, fingerprint
from rcm.load.quarantine import quarantine_file
from rcm.load.readers import ident

#: staging prefix of the tables the validation hook sees (committed, in the in-memory
#: `scratch` database of rcm.load.warehouse.connect, so never written to the warehouse file);
#: the hook gets the claims table, the suite finds the siblings by prefix
STAGE_PREFIX = "scratch.load_batch_era_"
VALIDATED = "claims"  # the table the suite validates (its siblings: SIBLING_COLUMNS)
HOOK_TABLE = STAGE_PREFIX + VALIDATED
FINDINGS = "findings"


def default_remittance_loader(validate_batch: Callable | None = None) -> Callable[..., list] | None:
    """The 835 loader over rcm.era (None when the parser is not importable).

    The returned loader takes (con, files, load_run_id, validate_batch=None); a hook given
    here is the default for its calls.
    """
    try:
        from rcm.era import parse_835_files
        from rcm.era.parse import default_workers
    except ImportError:
        return None

    # a chunk's batches parsed two at a time (60 of the M files, 159 MB: the parse 5.0-5.4
    # -> 4.4-4.5 s, peak RSS unchanged, docs/benchmarks.md)
    parse = functools.partial(parse_835_files, workers=default_workers())

    def loader(con, files, load_run_id, validate_batch: Callable | None = validate_batch):
        return load_remittances(con, files, load_run_id, parse, validate_batch)

    return loader


def _frames(parsed: Any) -> dict[str, Any]:
    """Table name -> frame, from the parser's result (Era835Tables.items() or a mapping)."""
    if isinstance(parsed, dict):
        return dict(parsed)
    if callable(getattr(parsed, "items", None)):
        return dict(parsed.items())
    raise TypeError("the 835 parser returned an unknown shape; expected a mapping of tables")


def _ensure_table(
    con: duckdb.DuckDBPyConnection, name: str, frame: Any, schema: str = "raw"
) -> str:
    """<schema>.era_<name>: the frame's columns, `_load_id` and `_source_file`."""
    table = f"{schema}.era_{name}"
    con.register("_era_frame", frame)
    try:
        con.execute(
            f"create table if not exists {table} as select *, ''::varchar as _load_id, "
            "''::varchar as _source_file from _era_frame limit 0"
        )
    finally:
        con.unregister("_era_frame")
    return table


def ensure_era_tables(con: duckdb.DuckDBPyConnection) -> None:
    """raw.era_<table> and quarantine.era_<table> with their columns, even before any 835.

    A hospital's first nights may bring no remittance yet; the models over these tables
    must still build (empty), so the tables exist from the first load on.
    """
    from rcm.era import schema as era_schema

    for name in era_schema.TABLES:
        _ensure_table(con, name, era_schema.empty(name))
        if name != FINDINGS:
            _ensure_table(con, name, era_schema.empty(name), "quarantine")


def _stage(con: duckdb.DuckDBPyConnection, frames: dict[str, Any]) -> list[str]:
    """Committed copies of the file's tables for the hook (GX reads them on other cursors):
    the claims table whole (the batch the suite validates), of the siblings only the columns
    the suite reads (`SIBLING_COLUMNS`; service and adjustment lines are most of the rows)."""
    from expectations.remittances import SIBLING_COLUMNS  # here: that module imports GX

    staged = []
    for name, frame in frames.items():
        if name in SIBLING_COLUMNS:
            frame = frame.select(SIBLING_COLUMNS[name])
        elif name != VALIDATED:  # remarks, findings: the suite reads neither
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


#: 835 text parsed, staged and validated together (one GX run per chunk): large enough that
#: a night's files take a few runs, small enough that the parsed frames stay a few hundred MB
CHUNK_BYTES = 48 * 1024 * 1024
#: ops.validation_results of a chunk are recorded under this load id until copied per file
CHUNK_TAG = "era-chunk-"


def _chunks(files: list[LandingFile], limit: int) -> Iterator[list[LandingFile]]:
    """Consecutive runs of files of at most `limit` bytes together (a larger file alone)."""
    chunk, size = [], 0
    for file in files:
        if chunk and size + file.bytes > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append(file)
        size += file.bytes
    if chunk:
        yield chunk


def _by_file(frames: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """file name -> {table -> that file's rows}, from the chunk's tables (source_file)."""
    split: dict[str, dict[str, Any]] = {}
    for name, frame in frames.items():
        if not frame.height:
            continue
        for (source,), part in frame.partition_by("source_file", as_dict=True).items():
            split.setdefault(source, {})[name] = part
    return split


def _empty_frames(frames: dict[str, Any]) -> dict[str, Any]:
    return {name: frame.clear() for name, frame in frames.items()}


def load_remittances(
    con: duckdb.DuckDBPyConnection,
    files: list[LandingFile],
    load_run_id: str,
    parse: Callable[[list], Any],
    validate_batch: Callable | None = None,
    chunk_bytes: int | None = None,
) -> Iterator:
    """Every 835 file: its tables into raw.era_<table> (or into quarantine.era_<table> on a
    critical validation failure) + one manifest row; one transaction per chunk.

    Files are parsed and validated in chunks (about `chunk_bytes` of 835 text, default
    CHUNK_BYTES): one parse and one GX run per chunk instead of per file, since both have a
    fixed cost per call. When the
    chunk passes every expectation, each file's ops.validation_results rows are the chunk's
    (column `validated_with` names the chunk); when anything fails, every file of the chunk
    is validated again on its own, so quarantine and warnings are decided per file, exactly
    as for a lone file. Yields each file's result once its chunk is committed.
    """
    pending = []
    for file in files:
        file = file if file.sha256 else fingerprint(file)
        if not mf.already_seen(con, file):
            pending.append(file)
    for number, chunk in enumerate(_chunks(pending, chunk_bytes or CHUNK_BYTES)):
        yield from _load_chunk(con, chunk, load_run_id, parse, validate_batch, number)


def _load_chunk(
    con: duckdb.DuckDBPyConnection,
    chunk: list[LandingFile],
    load_run_id: str,
    parse: Callable[[list], Any],
    validate_batch: Callable | None,
    number: int,
) -> Iterator:
    from rcm.load.loader import FileResult, _commit, _verdict, make_load_id

    started = time.monotonic()
    # bytes already loaded, or earlier in this chunk (that file is loaded or quarantined
    # with it), are duplicates and never parsed: per file, (load_id, file_name) of the
    # first load of its bytes, or None
    first_loads: dict[str, tuple[str, str] | None] = {}
    in_chunk: dict[str, tuple[str, str]] = {}
    to_parse = []
    for file in chunk:
        first = in_chunk.get(file.sha256) or mf.first_load_of(con, file.sha256)
        first_loads[file.file_name] = first
        if first is None:
            to_parse.append(file)
            in_chunk[file.sha256] = (make_load_id(load_run_id, file), file.file_name)
    frames = _frames(parse([file.path for file in to_parse])) if to_parse else {}
    per_file = _by_file(frames)
    empty = _empty_frames(frames)
    with_data = [f for f in to_parse if any(n != FINDINGS for n in per_file.get(f.file_name, {}))]

    chunk_id, clean = None, False
    if validate_batch is not None and with_data:
        chunk_id = f"{load_run_id}:{CHUNK_TAG}{number:04d}"
        verdict, staged = _validate(con, frames, chunk_id, validate_batch)
        _drop(con, staged)
        clean = chunk_results.clean(verdict)
        if not clean:  # decide per file: validate each one on its own below
            chunk_results.forget(con, chunk_id)
        if not clean or not chunk_results.has_results(con):  # nothing to copy per file
            chunk_id = None
    # each file's verdict: the chunk's when it passed; else the file's own, validated before
    # the chunk's transaction (staging writes to scratch; a transaction writes one database)
    verdicts: dict[str, Any] = {}
    if validate_batch is not None:
        for file in with_data:
            if clean:
                verdicts[file.file_name] = _verdict(True)
                continue
            frames_of_file = {**empty, **per_file[file.file_name]}
            load_id = make_load_id(load_run_id, file)
            verdicts[file.file_name], staged = _validate(
                con, frames_of_file, load_id, validate_batch
            )
            _drop(con, staged)
    share = (time.monotonic() - started) / max(len(chunk), 1)  # parse + validation

    def work() -> list:
        rows = [
            _record_file(
                con,
                file,
                load_run_id,
                make_load_id(load_run_id, file),
                {**empty, **per_file.get(file.file_name, {})},
                first_loads[file.file_name],
                verdicts.get(file.file_name),
                chunk_id,
                share,
            )  # fmt: skip
            for file in chunk
        ]
        _append_chunk(con, frames, list(zip(chunk, rows, strict=True)))
        return rows

    try:
        rows = _commit(con, work)  # the chunk's files commit together: one WAL sync
    finally:
        if chunk_id is not None:
            chunk_results.forget(con, chunk_id)
    for file, row in zip(chunk, rows, strict=True):
        yield FileResult.of(file, row)


def _append_chunk(
    con: duckdb.DuckDBPyConnection, frames: dict[str, Any], files: list[tuple[LandingFile, Any]]
) -> None:
    """The chunk's rows, one insert per table and destination (a few hundred inserts fewer
    than file by file): data of loaded files into raw.era_<table>, of files quarantined on
    validation into quarantine.era_<table>, findings of every parsed file into
    raw.era_findings. The rows written must be the ones the manifest rows count."""
    to_raw = {f.file_name: row.load_id for f, row in files if row.status == "loaded"}
    to_quarantine = {
        f.file_name: row.load_id for f, row in files if row.reason_code == "validation_failed"
    }
    parsed = {f.file_name: row.load_id for f, row in files if row.status != "duplicate"}
    loaded = quarantined = findings = 0
    for name, frame in frames.items():
        if name == FINDINGS:
            findings += _append_files(con, name, frame, parsed)
            continue
        loaded += _append_files(con, name, frame, to_raw)
        quarantined += _append_files(con, name, frame, to_quarantine, "quarantine")
    expected = (
        sum(row.rows_loaded for _, row in files),
        sum(row.rows_quarantined for _, row in files),
        sum(
            frame.filter(frame["source_file"].is_in(list(parsed))).height
            for name, frame in frames.items()
            if name == FINDINGS
        ),
    )
    if (loaded, quarantined, findings) != expected:
        raise mf.ManifestInvariantError(
            f"{len(files)} 835 file(s) from {files[0][0].file_name}: rows written (loaded "
            f"{loaded}, quarantined {quarantined}, findings {findings}) != rows counted "
            f"{expected}; load rolled back"
        )


def _append_files(
    con: duckdb.DuckDBPyConnection,
    name: str,
    frame: Any,
    load_ids: dict[str, str],
    schema: str = "raw",
) -> int:
    """The rows of `frame` whose source_file is a key of `load_ids`, tagged with its value
    (_load_id) and the file name (_source_file), into <schema>.era_<name>."""
    if not load_ids or not frame.height:
        return 0
    import polars as pl

    files = pl.DataFrame(
        {"source_file": list(load_ids), "load_id": list(load_ids.values())},
        schema={"source_file": pl.String, "load_id": pl.String},
    )
    table = _ensure_table(con, name, frame, schema)
    con.register("_era_frame", frame)
    con.register("_era_files", files)
    try:
        return con.execute(
            f"insert into {table} by name "
            f"select frame.*, files.load_id as {ident('_load_id')}, "
            f"frame.source_file as {ident('_source_file')} "
            "from _era_frame as frame join _era_files as files "
            "on frame.source_file = files.source_file"
        ).fetchone()[0]
    finally:
        con.unregister("_era_frame")
        con.unregister("_era_files")


def _record_file(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    load_run_id: str,
    load_id: str,
    frames: dict[str, Any],
    first: tuple[str, str] | None,
    verdict: Any,
    chunk_id: str | None,
    share: float,
) -> mf.ManifestRow:
    """One file's manifest row (its counts from its frames), quarantine.files row and
    validation results, inside the chunk's transaction (its rows and findings are appended
    with the chunk's, `_append_chunk`); `first`: (load_id, file_name) of the first load of
    the same bytes (a duplicate), or None."""
    from rcm.load.loader import _manifest_base

    started = time.monotonic() - share
    base = _manifest_base(file, load_id, load_run_id)
    if first:
        frames = {}
    has_data = any(f.height for name, f in frames.items() if name != FINDINGS)
    rows = quarantined = 0
    errors = warnings = 0
    critical = verdict is not None and verdict.critical
    for name, frame in frames.items():
        if name == FINDINGS:
            errors = frame.filter(frame["severity"] == "error").height
            warnings = frame.height - errors
        elif critical:  # the whole file is quarantined: its rows kept for review
            quarantined += frame.height
        else:
            rows += frame.height
    if chunk_id is not None and has_data:
        chunk_results.copy_to_file(con, chunk_id, load_id)
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
