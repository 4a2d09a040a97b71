"""Read one landing file as its extract through DuckDB's readers into two temp tables.

`_batch`: the rows that typed, with the contract columns (warehouse types, lists split on
';'), unknown columns in `_extra`, and the loader's metadata columns. `_rejects`: one row
per record that could not be typed (line, reason_code, reason, raw_line), collected by
DuckDB's CSV reject tables (`store_rejects`), never by parsing rows in Python.

A file that cannot be read as its extract at all raises `FileRejected` with a value-free
reason; the caller quarantines it whole.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb

from rcm.load.discover import LandingFile
from rcm.load.extracts import EXTRACTS, Extract

BATCH = "_batch"
REJECTS = "_rejects"
_SCAN = "_scan"
_HEAD_BYTES = 1024 * 1024
_BOM = b"\xef\xbb\xbf"

# DuckDB reject error_type -> (reason_code, reason); CAST reasons name the column instead.
_READER_ERRORS = {  # in priority order: the first one present names the line
    "INVALID ENCODING": ("invalid_utf8", "not valid UTF-8"),
    "UNQUOTED VALUE": ("bad_quote", "unterminated or misplaced quote"),
    "TOO MANY COLUMNS": ("too_many_fields", "too many fields"),
    "MISSING COLUMNS": ("too_few_fields", "too few fields"),
    "LINE SIZE OVER MAXIMUM": ("line_too_long", "line longer than the reader's maximum"),
    "INVALID STATE": ("malformed_csv", "malformed CSV"),
}


class FileRejected(Exception):
    """The file cannot be read as its extract; `reason` names the problem, never a value."""

    def __init__(self, reason_code: str, reason: str) -> None:
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason


@dataclass(frozen=True)
class ReadResult:
    rows_read: int  # records in the file: typed + rejected
    missing_columns: tuple[str, ...]  # contract columns absent from the file (loaded as null)
    extra_columns: int  # unknown columns kept in _extra
    lines_exact: bool  # _source_line is the physical line of every row


def q(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def drop_batch(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp objects of the previous file (views first: they depend on tables)."""
    con.execute(f"drop view if exists {BATCH}")
    for table in (REJECTS, _SCAN, "_lines", "_reject_errors", "_reject_scans", "_src", "_typed"):
        con.execute(f"drop table if exists {table}")


def read_file(con: duckdb.DuckDBPyConnection, file: LandingFile, load_id: str) -> ReadResult:
    """Fill temp tables `_batch` and `_rejects` from `file`; raise FileRejected if unreadable."""
    extract = EXTRACTS[file.extract]
    drop_batch(con)
    if file.bytes == 0:
        raise FileRejected("empty", "empty file (0 bytes)")
    if file.format == "csv":
        return _read_csv(con, file, extract, load_id)
    if file.format == "parquet":
        return _read_parquet(con, file, extract, load_id)
    raise FileRejected("unsupported_format", f"not a .csv or .parquet file ({file.path.suffix!r})")


# ---------------------------------------------------------------- header


def read_header(path: Path) -> list[str]:
    """The CSV header's column names (trimmed, lower case); FileRejected if there is none."""
    with open(path, "rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if not head:
        raise FileRejected("empty", "empty file (0 bytes)")
    if b"\x00" in head:
        raise FileRejected("binary", "not a text file (binary content)")
    if head.startswith(_BOM):
        head = head[len(_BOM) :]
    end = head.find(b"\n")
    if end < 0 and len(head) == _HEAD_BYTES:
        raise FileRejected("not_csv", "no line break in the first 1 MiB: not a CSV file")
    first = head if end < 0 else head[:end]
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileRejected("invalid_utf8", "header row is not valid UTF-8") from exc
    try:
        row = next(csv.reader(io.StringIO(text.rstrip("\r"))), [])
    except csv.Error as exc:
        raise FileRejected("not_csv", "header row is not valid CSV") from exc
    return [name.strip().lower() for name in row]


def _check_header(names: list[str], extract: Extract) -> None:
    missing = [key for key in extract.required if key not in names]
    if missing:
        raise FileRejected(
            "missing_key_columns",
            f"missing required column(s) {', '.join(missing)}: not a {extract.name} extract",
        )
    contract = [n for n in names if n in extract.names]
    duplicated = sorted({n for n in contract if contract.count(n) > 1})
    if duplicated:
        raise FileRejected("duplicate_columns", f"column(s) repeated in header: {duplicated}")


# ---------------------------------------------------------------- CSV


def _read_csv(
    con: duckdb.DuckDBPyConnection, file: LandingFile, extract: Extract, load_id: str
) -> ReadResult:
    names = read_header(file.path)
    _check_header(names, extract)
    columns: list[tuple[str, str]] = []  # (name in the scan, read type)
    extras: list[tuple[str, str]] = []  # (original header name, name in the scan)
    for position, name in enumerate(names):
        if name in extract.names:
            columns.append((name, extract.column(name).read_type))
        else:
            internal = f"_x{position}"
            columns.append((internal, "VARCHAR"))
            extras.append((name or f"column_{position + 1}", internal))
    spec = "{" + ", ".join(f"{q(n)}: {q(t)}" for n, t in columns) + "}"
    try:
        con.execute(
            f"""
            create temp table {_SCAN} as
            select * from read_csv(
                {q(str(file.path))},
                columns = {spec},
                header = true, auto_detect = false,
                delim = ',', quote = '"', escape = '"',
                encoding = 'utf-8', null_padding = false,
                store_rejects = true,
                rejects_table = '_reject_errors', rejects_scan = '_reject_scans'
            )
            """
        )
    except duckdb.Error as exc:
        raise FileRejected("unreadable", "the CSV reader could not read the file") from exc
    _collect_csv_rejects(con, extract)
    good, rejected = con.execute(
        f"select (select count(*) from {_SCAN}), (select count(*) from {REJECTS})"
    ).fetchone()
    rows_read = good + rejected
    lines = _physical_lines(file)
    # one physical line per record (no quoted line breaks, no blank lines): lines are exact
    lines_exact = lines is not None and lines == rows_read + 1
    if lines_exact and rejected == 0:
        rn, line, join = "scan.rowid + 1", "scan.rowid + 2", ""
    elif lines_exact:
        # the k-th typed row sits on the k-th line (from 2) that is not a rejected line
        con.execute(
            f"""
            create temp table _lines as
            select row_number() over (order by line) as _rn, line
            from (select range + 2 as line from range({rows_read}))
            where line not in (select line from {REJECTS})
            """
        )
        rn, line = "scan.rowid + 1", "_lines.line"
        join = "join _lines on _lines._rn = scan.rowid + 1"
    else:
        rn, line, join = "scan.rowid + 1", "null::bigint", ""
    present = {n for n, _ in columns}
    _build_batch(con, extract, present, extras, load_id, file.file_name, rn, line, join)
    return ReadResult(
        rows_read=rows_read,
        missing_columns=tuple(n for n in extract.names if n not in present),
        extra_columns=len(extras),
        lines_exact=lines_exact,
    )


def _physical_lines(file: LandingFile) -> int | None:
    if file.newlines is None:
        return None
    with open(file.path, "rb") as handle:
        handle.seek(max(file.bytes - 1, 0))
        last = handle.read(1)
    return file.newlines + (0 if last == b"\n" else 1)


def _collect_csv_rejects(con: duckdb.DuckDBPyConnection, extract: Extract) -> None:
    """One `_rejects` row per rejected record, reasons built from column names only."""
    cast_reason = " ".join(
        f"when {q(c.name)} then {q(c.name + ': not ' + c.kind)}"
        for c in extract.columns
        if c.read_type != "VARCHAR"
    )
    codes = " ".join(f"when {q(k)} then {q(v[0])}" for k, v in _READER_ERRORS.items())
    texts = " ".join(f"when {q(k)} then {q(v[1])}" for k, v in _READER_ERRORS.items())
    try:
        con.execute("select 1 from _reject_errors limit 0")
        source = "_reject_errors"
    except duckdb.Error:  # no reject table when the scan rejected nothing
        source = (
            "(select null::bigint as line, null::varchar as error_type, "
            "null::varchar as column_name, null::varchar as csv_line where false)"
        )
    priority = " ".join(f"when {q(k)} then {n}" for n, k in enumerate(_READER_ERRORS, start=1))
    # A structural error (field count, quote, encoding) shifts the fields, so the cast errors
    # it causes on the same line are noise: they are reported only when nothing else is.
    con.execute(
        f"""
        create temp table {REJECTS} as
        with errors as (
            select
                line,
                case when error_type::varchar = 'CAST' then 'bad_value'
                     else case error_type::varchar {codes} else 'malformed_csv' end
                end as reason_code,
                case when error_type::varchar = 'CAST'
                     then case column_name {cast_reason} else column_name || ': bad value' end
                     else case error_type::varchar {texts} else 'malformed CSV' end
                end as reason,
                case when error_type::varchar = 'CAST' then 100
                     else case error_type::varchar {priority} else 99 end
                end as priority,
                trim(csv_line, chr(10) || chr(13)) as raw_line
            from {source}
        )
        select
            line::bigint as line,
            null::bigint as row_number,
            arg_min(reason_code, priority) as reason_code,
            coalesce(
                string_agg(distinct reason, '; ' order by reason) filter (where priority < 100),
                string_agg(distinct reason, '; ' order by reason)
            ) as reason,
            any_value(raw_line) as raw_line
        from errors
        group by line
        """
    )


# ---------------------------------------------------------------- Parquet


def _read_parquet(
    con: duckdb.DuckDBPyConnection, file: LandingFile, extract: Extract, load_id: str
) -> ReadResult:
    try:
        con.execute(
            f"create temp table _src as select * from read_parquet({q(str(file.path))}, "
            "file_row_number = true)"
        )
        described = con.execute("describe _src").fetchall()
    except duckdb.Error as exc:
        raise FileRejected("unreadable", "not a readable Parquet file") from exc
    source_types = {row[0]: row[1] for row in described if row[0] != "file_row_number"}
    by_name: dict[str, str] = {}
    extras: list[tuple[str, str]] = []
    for original in source_types:
        name = original.strip().lower()
        if name in extract.names and name not in by_name:
            by_name[name] = original
        else:
            extras.append((name, original))
    _check_header(list(by_name), extract)
    typed: list[str] = []
    failures: list[str] = []
    for column in extract.columns:
        original = by_name.get(column.name)
        if original is None:
            continue
        src = ident(original)
        src_type = source_types[original]
        if column.is_integer:  # typed strictly later, like the CSV path (_build_batch)
            expr = f"cast({src} as varchar)"
        elif column.is_list and not src_type.endswith("[]"):
            expr = f"cast({src} as varchar)"
        elif column.is_list:  # a Parquet list becomes ';'-text here and is split again later
            expr = f"array_to_string(try_cast({src} as varchar[]), ';')"
        else:
            expr = f"try_cast({src} as {column.read_type})"
        typed.append(f"{expr} as {ident(column.name)}")
        failures.append(
            f"case when {src} is not null and {expr} is null "
            f"then {q(column.name + ': not ' + column.kind)} end"
        )
    reason = f"concat_ws('; ', {', '.join(failures)})" if failures else "''"
    extra_cols = ", ".join(
        f"{ident(orig)} as {ident('_x' + str(i))}" for i, (_, orig) in enumerate(extras)
    )
    con.execute(
        f"""
        create temp table _typed as
        select
            {", ".join(typed)}{", " + extra_cols if extra_cols else ""},
            file_row_number + 1 as _rn,
            {reason} as _reason,
            cast(_src as varchar) as _raw
        from _src
        """
    )
    con.execute(
        f"""
        create temp table {REJECTS} as
        select null::bigint as line, _rn as row_number, 'bad_value' as reason_code,
               _reason as reason, _raw as raw_line
        from _typed where _reason <> ''
        """
    )
    con.execute(
        f"create temp table {_SCAN} as select * exclude (_reason, _raw) from _typed "
        "where _reason = '' order by _rn"
    )
    con.execute("drop table _typed")
    rows_read = con.execute("select count(*) from _src").fetchone()[0]
    con.execute("drop table _src")
    present = set(by_name)
    _build_batch(
        con,
        extract,
        present,
        [(name, f"_x{i}") for i, (name, _) in enumerate(extras)],
        load_id,
        file.file_name,
        "scan._rn",
        "null::bigint",
        "",
    )
    return ReadResult(
        rows_read=rows_read,
        missing_columns=tuple(n for n in extract.names if n not in present),
        extra_columns=len(extras),
        lines_exact=False,
    )


# ---------------------------------------------------------------- shared


def _list_expr(src: str) -> str:
    return (
        f"list_filter(list_transform(string_split({src}, ';'), lambda e: trim(e)), "
        "lambda e: e <> '')"
    )


def _integer_expr(name: str) -> str:
    """Strict whole number: '3', ' +3 ', '3.0' type; '1.5', '3x', overflow give null."""
    return (
        f"case when regexp_full_match({name}, '\\s*[+-]?[0-9]+(\\.0*)?\\s*') "
        f"then try_cast(try_cast(trim({name}) as decimal(38, 0)) as integer) end"
    )


def _build_batch(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    present: set[str],
    extras: list[tuple[str, str]],
    load_id: str,
    file_name: str,
    row_number: str,
    source_line: str,
    join: str,
) -> None:
    """`_batch`: a temp *view* over `_scan` with warehouse types, `_extra` and metadata.

    A view, so that each later step computes only the columns it reads (DuckDB prunes
    projections) and the full rows are built once, by the insert into raw. Integer columns
    are typed here, strictly; a row whose integer does not type carries `_type_reason` and
    the original text in `_raw_values`, and the loader quarantines it.
    """
    selects = []
    type_errors = []
    raw_values = []
    for column in extract.columns:
        name = ident(column.name)
        src = f"scan.{name}"
        if column.name not in present:
            selects.append(f"null::{column.sql_type} as {name}")
        elif column.is_list:
            selects.append(f"{_list_expr(src)} as {name}")
        elif column.is_integer:
            typed = _integer_expr(src)
            selects.append(f"{typed} as {name}")
            failed = f"trim({src}) <> '' and ({typed}) is null"
            reason = q(column.name + ": not " + column.kind)
            type_errors.append(f"case when {failed} then {reason} end")
            raw_values.append(
                f"struct_pack(k := {q(column.name)}, v := case when {failed} then {src} end)"
            )
        else:
            selects.append(f"{src} as {name}")
    if type_errors:
        type_reason = f"nullif(concat_ws('; ', {', '.join(type_errors)}), '')"
        raw_map = (
            f"map_from_entries(list_filter([{', '.join(raw_values)}], lambda e: e.v is not null))"
        )
    else:
        type_reason = "null::varchar"
        raw_map = "null::map(varchar, varchar)"
    if extras:
        keys = ", ".join(q(original) for original, _ in extras)
        values = ", ".join(f"cast(scan.{ident(internal)} as varchar)" for _, internal in extras)
        extra = f"map([{keys}], [{values}])"
    else:
        extra = "null::map(varchar, varchar)"
    con.execute(
        f"""
        create temp view {BATCH} as
        select
            {", ".join(selects)},
            {q(load_id)} as _load_id,
            {q(file_name)} as _source_file,
            ({source_line})::bigint as _source_line,
            ({row_number})::bigint as _row_number,
            {extra} as _extra,
            {type_reason} as _type_reason,
            {raw_map} as _raw_values
        from {_SCAN} as scan {join}
        """
    )
