"""X12 835 remittance files: parsed by rcm.era, appended to raw.era_<table>, one file at a time.

`rcm.era.parse_835_files(paths)` returns the remittance tables (polars frames) and `findings`
(PHI-free, severity `error` or `warning`; an unbalanced or unreadable file has error
findings). Each landing file is one transaction: its rows in every raw.era_<table> (tagged
with _load_id and _source_file) + its findings in raw.era_findings + one manifest row.
A file with error findings is flagged (validation_success false, reason) rather than
silently loaded; a file that yields no data at all is quarantined whole.
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


def default_remittance_loader() -> Callable[..., list] | None:
    try:
        from rcm.era import parse_835_files
    except ImportError:
        return None
    return lambda con, files, load_run_id: load_remittances(
        con, files, load_run_id, parse_835_files
    )


def _frames(parsed: Any) -> dict[str, Any]:
    """Table name -> frame, from the parser's result (Era835Tables.items() or a mapping)."""
    if isinstance(parsed, dict):
        return dict(parsed)
    if callable(getattr(parsed, "items", None)):
        return dict(parsed.items())
    raise TypeError("the 835 parser returned an unknown shape; expected a mapping of tables")


def _append(con: duckdb.DuckDBPyConnection, name: str, frame: Any, load_id: str, file: str) -> int:
    con.register("_era_frame", frame)
    try:
        table = f"raw.era_{name}"
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


def load_remittances(
    con: duckdb.DuckDBPyConnection,
    files: list[LandingFile],
    load_run_id: str,
    parse: Callable[[list], Any],
) -> list:
    """One transaction per 835 file: its tables into raw.era_<table> + one manifest row."""
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

        def work(frames=frames, first=first, base=base, file=file, started=started):
            rows = 0
            errors = warnings = 0
            for name, frame in frames.items():
                appended = _append(con, name, frame, base["load_id"], file.file_name)
                if name == "findings":
                    errors = frame.filter(frame["severity"] == "error").height
                    warnings = appended - errors
                else:
                    rows += appended
            status, code, reason, success = "loaded", None, None, None
            if first:
                status, code = "duplicate", "duplicate_file"
                reason = f"same bytes (sha256) as {first[1]}"
            elif rows == 0 and errors:
                status, code, success = "quarantined", "x12_unreadable", False
                reason = f"no remittance data: {errors} error finding(s) in raw.era_findings"
                quarantine_file(con, file, base["load_id"], code, reason, base["loaded_at"])
            elif errors:
                code, success = "x12_errors", False
                reason = f"{errors} error finding(s) (e.g. unbalanced) in raw.era_findings"
            elif frames:
                success = True
            row = mf.ManifestRow(
                **base,
                rows_read=rows,
                rows_loaded=rows,
                rows_quarantined=0,
                status=status,
                validation_success=success,
                reason_code=code,
                reason=reason,
                duplicate_of_load_id=first[0] if first else None,
                warnings=[f"{warnings} warning finding(s) in raw.era_findings"] if warnings else [],
                seconds=time.monotonic() - started,
            )
            mf.record(con, row)
            return row

        row = _commit(con, work)
        results.append(
            FileResult(
                file,
                row.status,
                load_id,
                row.rows_read,
                row.rows_loaded,
                0,
                row.reason,
                row.seconds,
            )
        )
    return results
