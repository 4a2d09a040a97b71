"""`rcm era`: convert 835 files into one file per remittance table (parquet or csv).

Batches are streamed to disk as they are parsed, so memory stays bounded by the batch
size whatever the number or size of the input files. Bad input never fails the run: it
becomes findings (written to `findings.<fmt>` and summarised); only a run that cannot
start or cannot write raises `RcmError`.
"""

from __future__ import annotations

import gc
import os
import queue
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from polars.io.plugins import register_io_source

from rcm.era.parse import DATA_TABLES, DEFAULT_BATCH_BYTES, ParseRun, default_workers
from rcm.era.schema import TABLES, empty, polars_schema
from rcm.errors import RcmError

FORMATS = ("parquet", "csv")
_SHOWN_FINDINGS = 15
# LZ4 without column statistics: writing parquet was a third of the run with snappy and
# statistics; lz4 is as fast to decode and the tables are read whole, not filtered by stats
_COMPRESSION = "lz4"
_POLL = 0.5  # seconds between checks that a parquet sink is still alive


class _ParquetSink:
    """One parquet file, written by polars' streaming parquet sink in a thread of its own.

    Batches reach the sink through a queue of one: the parser builds the next batch while
    the sinks encode the previous one (on the other core), and memory stays bounded by a
    few batches. Several batches become row groups of one file, with no second writer
    library (pyarrow) to import and no conversion to its arrays."""

    def __init__(self, partial: Path, table: str) -> None:
        self._queue: queue.Queue[pl.DataFrame | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._partial = partial
        self._schema = polars_schema(table)
        self._thread = threading.Thread(target=self._run, name=f"rcm-era-{table}", daemon=True)
        self._thread.start()

    def _frames(self, with_columns, _predicate, _n_rows, _batch_size) -> Iterator[pl.DataFrame]:
        while (frame := self._queue.get()) is not None:
            yield frame if with_columns is None else frame.select(with_columns)

    def _run(self) -> None:
        try:
            register_io_source(self._frames, schema=self._schema).sink_parquet(
                self._partial, compression=_COMPRESSION, statistics=False
            )
        except BaseException as exc:  # noqa: BLE001 - reported by write/close
            self._error = exc

    def write(self, frame: pl.DataFrame | None) -> None:
        while True:
            self._raise()
            try:
                self._queue.put(frame, timeout=_POLL)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        self.write(None)
        self._thread.join()
        self._raise(finished=True)

    def abort(self) -> None:
        if self._thread.is_alive():
            try:
                self._queue.put(None, timeout=_POLL)
            except queue.Full:  # the sink failed and stopped reading: nothing to stop
                pass
            self._thread.join(timeout=10 * _POLL)

    def _raise(self, finished: bool = False) -> None:
        if self._error is not None:
            if isinstance(self._error, OSError):
                raise self._error
            raise _write_error(self._error) from self._error
        if not finished and not self._thread.is_alive():
            raise OSError("the parquet writer stopped")


def _write_error(exc: BaseException) -> OSError:
    """A writer's failure (polars reports a full disk as a ComputeError) as an OSError with
    its first line, so that `_convert` reports it as a failure to write."""
    return OSError(str(exc).splitlines()[0] if str(exc) else "")


class _TableWriter:
    """One output file. Parquet: streamed by a polars sink (`_ParquetSink`) when the run
    has several batches; otherwise (and always for the findings) written once, at the end.
    CSV: appended batch by batch."""

    def __init__(self, path: Path, table: str, fmt: str, streaming: bool) -> None:
        self.path = path
        self.partial = path.with_name(f".{path.name}.partial")
        self.fmt = fmt
        self.rows = 0
        self._schema_frame = empty(table)
        self._pending: pl.DataFrame | None = None
        self._sink: _ParquetSink | None = None
        self._handle = None
        if fmt == "parquet" and streaming:
            self._sink = _ParquetSink(self.partial, table)
        elif fmt == "csv":
            self._handle = open(self.partial, "wb")
            self._schema_frame.write_csv(self._handle, include_header=True)

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        self.rows += frame.height
        if self._sink is not None:
            self._sink.write(frame)
        elif self._handle is not None:
            frame.write_csv(self._handle, include_header=False)
        else:
            self._pending = frame if self._pending is None else pl.concat([self._pending, frame])

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
        elif self._handle is not None:
            self._handle.close()
        else:
            frame = self._pending if self._pending is not None else self._schema_frame
            try:
                frame.write_parquet(self.partial, compression=_COMPRESSION, statistics=False)
            except pl.exceptions.PolarsError as exc:
                raise _write_error(exc) from exc
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        if self._sink is not None:
            self._sink.abort()
        elif self._handle is not None:
            self._handle.close()
        self.partial.unlink(missing_ok=True)


@dataclass
class ConvertResult:
    out_dir: Path
    fmt: str
    files_read: int
    files_converted: int
    rows: dict[str, int]
    findings: pl.DataFrame
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def files_with_errors(self) -> int:
        errors = self.findings.filter(pl.col("severity") == "error")
        return errors.select(pl.col("source_file").n_unique()).item() if errors.height else 0

    def describe(self) -> str:
        """A PHI-free summary: counts per table and the first findings."""
        rows = self.rows
        lines = [
            f"rcm era: read {self.files_read} file(s), converted {self.files_converted}; "
            f"{rows['payments']} payments, {rows['claims']} claims, "
            f"{rows['service_lines']} service lines, "
            f"{rows['claim_adjustments']} claim adjustments, "
            f"{rows['line_adjustments']} line adjustments, {rows['remarks']} remarks, "
            f"{rows['provider_adjustments']} provider adjustments",
            f"tables ({self.fmt}) in {self.out_dir}",
        ]
        n = self.findings.height
        if n == 0:
            lines.append("findings: none (envelopes valid, all amounts balance)")
            return "\n".join(lines)
        sev = Counter(self.findings.get_column("severity").to_list())
        lines.append(
            f"findings: {n} ({sev.get('error', 0)} error(s), {sev.get('warning', 0)} warning(s)) "
            f"in {self.findings.select(pl.col('source_file').n_unique()).item()} file(s); "
            f"see {self.paths.get('findings', 'findings')}"
        )
        for source, severity, reason in (
            self.findings.head(_SHOWN_FINDINGS)
            .select("source_file", "severity", "reason")
            .iter_rows()
        ):
            lines.append(f"  {severity}: {source}: {reason}")
        if n > _SHOWN_FINDINGS:
            lines.append(f"  ... and {n - _SHOWN_FINDINGS} more")
        return "\n".join(lines)


def convert_files(
    files: Iterable[str | Path],
    out_dir: str | Path,
    fmt: str = "parquet",
    *,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    workers: int | None = None,
) -> ConvertResult:
    """Convert 835 files into `<out_dir>/<table>.<fmt>` for every remittance table."""
    # the conversion makes no reference cycles worth collecting (frames are freed by
    # reference counting), so the cyclic collector's passes over every live object are
    # skipped while it runs
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _convert(files, out_dir, fmt, batch_bytes, workers or default_workers())
    except RcmError:
        raise
    except MemoryError as exc:
        raise RcmError("out of memory; retry with fewer files per run") from exc
    except Exception as exc:  # noqa: BLE001 - never a traceback for the user
        raise RcmError(
            f"internal error while converting ({type(exc).__name__}); no tables were written"
        ) from exc
    finally:
        if collecting:
            gc.enable()


def _convert(
    files: Iterable[str | Path], out_dir: str | Path, fmt: str, batch_bytes: int, workers: int
) -> ConvertResult:
    if fmt not in FORMATS:
        raise RcmError(f"unknown format {fmt!r}; use parquet or csv")
    files = list(files)
    if not files:
        raise RcmError("no input files given")
    out = Path(out_dir)
    _check_writable(out)
    run = ParseRun(files, batch_bytes, workers)
    if not run.sources:
        raise RcmError("no 835 files found in the given folder(s)")
    readable = [s for s in run.sources if s.sha256 is not None]
    if not readable:
        first = run.sources[0].findings[0]["reason"] if run.sources[0].findings else "unreadable"
        raise RcmError(f"none of the {len(run.sources)} input file(s) could be read ({first})")

    # a run that fits one batch (any input up to 24 MB, parsed as one batch per worker)
    # writes each table once, at the end, with `write_parquet`, which encodes a frame's
    # columns on all cores; the streaming sinks encode one table per thread, one after the
    # other (about 0.1 s more wall clock on the 18.7 MB benchmark set), and pay only where
    # they overlap with the next batch
    streaming = run.streams()
    writers: dict[str, _TableWriter] = {}
    try:
        for table in TABLES:
            # findings are always written once, at the end
            writers[table] = _TableWriter(
                out / f"{table}.{fmt}", table, fmt, streaming and table != "findings"
            )
        converted: set[str] = set()
        for batch in run.batches():
            for name in DATA_TABLES:
                writers[name].write(batch[name])
            converted.update(batch["payments"].get_column("source_file").unique().to_list())
        findings = run.findings()
        writers["findings"].write(findings)
        for writer in writers.values():
            writer.close()
    except OSError as exc:
        for writer in writers.values():
            writer.abort()
        raise RcmError(f"could not write the tables to {out}: {exc.strerror or exc}") from exc
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    return ConvertResult(
        out_dir=out,
        fmt=fmt,
        files_read=len(run.sources),
        files_converted=len(converted),
        rows={name: writer.rows for name, writer in writers.items()},
        findings=findings,
        paths={name: writer.path for name, writer in writers.items()},
    )


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".rcm-era-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RcmError(f"output folder {out} is not writable ({exc.strerror or exc})") from exc
