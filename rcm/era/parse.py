"""Parse X12 835 files into the remittance tables, in bounded batches.

`parse_835_files(paths)` returns every table in memory (what the nightly loader calls);
`ParseRun.batches()` yields the same tables batch by batch so `rcm era` can stream them
to disk with bounded memory. Findings are collected over the whole run.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path

import polars as pl

from rcm.era import checks, tables
from rcm.era.reader import Piece, SourceFile, plan_file, read_piece
from rcm.era.schema import TABLES, conform, empty
from rcm.era.segments import PIECE_SCHEMA, TERM, Parts, lookups, segment_frame

DATA_TABLES = [name for name in TABLES if name != "findings"]
DEFAULT_BATCH_BYTES = 16 * 1024 * 1024
# an input of one batch is split between the workers from this size on: below it a
# batch's fixed cost (a few hundred polars steps, under the GIL) outweighs what a second
# thread gains (`rcm era` with two workers against one, medians of 6: 1.9 MB 0.200 s against
# 0.194 s, 3.7 MB 0.223 against 0.231 s, 18.7 MB 0.89 against 0.98 s of 15)
SPLIT_BYTES = 2 * 1024 * 1024
_TERM = TERM.encode()
SUFFIXES = (".835", ".edi", ".txt", ".x12", ".era")
# a parsed batch: its tables, its findings, its envelope rows (for the run's envelope checks)
_Parsed = tuple[dict[str, pl.DataFrame], pl.DataFrame, pl.DataFrame]


@dataclass
class Era835Tables:
    """The remittance tables (polars frames, schemas in docs/era-tables.md) and findings."""

    payments: pl.DataFrame
    claims: pl.DataFrame
    claim_adjustments: pl.DataFrame
    service_lines: pl.DataFrame
    line_adjustments: pl.DataFrame
    remarks: pl.DataFrame
    provider_adjustments: pl.DataFrame
    findings: pl.DataFrame
    files: pl.DataFrame

    def table(self, name: str) -> pl.DataFrame:
        return getattr(self, name)

    def items(self) -> Iterator[tuple[str, pl.DataFrame]]:
        for f in fields(self):
            if f.name != "files":
                yield f.name, getattr(self, f.name)


def default_workers() -> int:
    """How many batches `rcm era` parses at once: two on a machine with two cores or more.
    Each batch in flight holds its own memory, so more workers trade memory for speed
    (measured only up to two cores, docs/benchmarks.md)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cores = os.cpu_count() or 1
    return min(2, cores)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a directory stands for its 835-looking files (sorted)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(
                sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
            )
        else:
            out.append(path)
    return out


class ParseRun:
    """One run over a list of files: plan, then batches, then findings."""

    def __init__(
        self,
        paths: Iterable[str | Path],
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        workers: int = 1,
    ):
        self.batch_bytes = max(int(batch_bytes), 1024)
        self.workers = max(int(workers), 1)
        self.sources = [
            SourceFile(file_id=i, path=p, name=p.name) for i, p in enumerate(expand_paths(paths))
        ]
        for source in self.sources:
            plan_file(source, max(self.batch_bytes // 4, 1024))
        self.files = pl.DataFrame(
            {
                "file_id": [s.file_id for s in self.sources],
                "source_file": [s.name for s in self.sources],
                "file_sha256": [s.sha256 for s in self.sources],
                "tag": [s.tag for s in self.sources],
                "bytes": [s.size for s in self.sources],
            },
            schema={
                "file_id": pl.Int64,
                "source_file": pl.String,
                "file_sha256": pl.String,
                "tag": pl.String,
                "bytes": pl.Int64,
            },
        )
        self._findings: list[pl.DataFrame] = [self._input_findings()]
        self._envelope_rows: list[pl.DataFrame] = []
        self._failed: set[int] = set()

    # ---- planning ---------------------------------------------------------------------------
    def _input_findings(self) -> pl.DataFrame:
        rows = [dict(file_id=s.file_id, **f) for s in self.sources for f in s.findings]
        if not rows:
            return checks.empty_findings()
        frame = pl.DataFrame(rows)
        return frame.select(
            [
                pl.col(n).cast(t) if n in frame.columns else pl.lit(None, t).alias(n)
                for n, t in checks.FINDING_COLUMNS.items()
            ]
        )

    def _piece_batches(self) -> Iterator[list[Piece]]:
        """The pieces in order, in batches of at most `batch_bytes` (a single piece larger
        than that is a batch of its own). An input of up to 1.5 batch sizes is one batch,
        so a small run pays the fixed cost of a batch (a few hundred polars steps) once;
        with several workers it is one batch per worker (each piece where its middle falls)
        when it has at least `SPLIT_BYTES`. Interchanges are cut at ST boundaries into
        pieces of about a quarter of the batch size (see `plan_file`), so the batches of a
        large run are mostly full."""
        pieces = [piece for source in self.sources for piece in source.pieces]
        total = sum(piece.size for piece in pieces)
        if not self.streams():
            parts = self.workers if total >= SPLIT_BYTES else 1
            if parts == 1:
                yield from [pieces] if pieces else []
                return
            split: list[list[Piece]] = [[] for _ in range(parts)]
            done = 0
            for piece in pieces:
                split[min(parts - 1, (2 * done + piece.size) * parts // (2 * total))].append(piece)
                done += piece.size
            yield from (batch for batch in split if batch)
            return
        batch: list[Piece] = []
        size = 0
        for piece in pieces:
            if batch and size + piece.size > self.batch_bytes:
                yield batch
                batch, size = [], 0
            batch.append(piece)
            size += piece.size
        if batch:
            yield batch

    def streams(self) -> bool:
        """Whether the input is larger than one batch (1.5 batch sizes): its tables are
        then streamed batch by batch rather than held whole."""
        total = sum(piece.size for source in self.sources for piece in source.pieces)
        return total > self.batch_bytes * 3 // 2

    def batch_count(self) -> int:
        """How many batches `batches()` will yield at most (known from the plan)."""
        return sum(1 for _ in self._piece_batches())

    # ---- batches ----------------------------------------------------------------------------
    def batches(self) -> Iterator[dict[str, pl.DataFrame]]:
        """The tables batch by batch, in order. Up to `workers` batches are parsed at once,
        in threads (polars runs its queries without holding the GIL); the next batch's
        bytes are read only when a worker is free, so memory stays bounded by `workers`
        batches."""
        with ThreadPoolExecutor(self.workers, thread_name_prefix="rcm-era-parse") as pool:
            pending: deque[tuple[list[tuple[Piece, int]], Future]] = deque()
            for rows, texts in self._batch_inputs():
                pending.append((rows, pool.submit(self._process, rows, texts)))
                del texts
                if len(pending) >= self.workers:
                    yield from self._finish(*pending.popleft())
            while pending:
                yield from self._finish(*pending.popleft())

    def _batch_inputs(self) -> Iterator[tuple[list[tuple[Piece, int]], list[bytes]]]:
        """Per batch: its pieces with their first segment's offset in the file, and their
        bytes. Pieces of files that failed in an earlier batch are left out."""
        offsets: dict[int, int] = {}
        for pieces in self._piece_batches():
            rows: list[tuple[Piece, int]] = []
            texts: list[bytes] = []
            for piece in pieces:
                if piece.file_id in self._failed:
                    continue
                source = self.sources[piece.file_id]
                texts.append(read_piece(source.path, piece))
                offset = offsets.get(piece.file_id, 0)
                if piece is not source.pieces[-1]:  # where the file's next piece goes on
                    offsets[piece.file_id] = offset + texts[-1].count(_TERM)
                rows.append((piece, offset))
            if rows:
                yield rows, texts

    def _finish(
        self, rows: list[tuple[Piece, int]], future: Future
    ) -> Iterator[dict[str, pl.DataFrame]]:
        """Record a parsed batch's findings and yield its tables (in batch order). A batch
        that failed is parsed again file by file, so one file's parser bug does not stop
        the others; a batch that holds pieces of a file which failed in an earlier batch
        while this one was parsed is parsed again without them, whether it parsed or not
        (its failure may have been that file's)."""
        error: Exception | None = None
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the batch
            error = exc
        kept = [r for r in rows if r[0].file_id not in self._failed]
        if len(kept) < len(rows):
            yield from self._again(kept)
        elif error is not None:
            yield from self._by_file(rows, error)
        else:
            yield self._record(result)

    def _again(self, rows: list[tuple[Piece, int]]) -> Iterator[dict[str, pl.DataFrame]]:
        """Parse pieces again, here (their bytes read anew); if that fails, file by file, and
        a file that fails on its own is not converted."""
        if not rows:
            return
        texts = [read_piece(self.sources[p.file_id].path, p) for p, _ in rows]
        try:
            result = self._process(rows, texts)
        except Exception as exc:  # noqa: BLE001
            yield from self._by_file(rows, exc)
            return
        yield self._record(result)

    def _by_file(
        self, rows: list[tuple[Piece, int]], exc: Exception
    ) -> Iterator[dict[str, pl.DataFrame]]:
        """After `rows` failed to parse together: the pieces of one file mean that file is
        not converted; those of several files are parsed again one file at a time."""
        files = list(dict.fromkeys(p.file_id for p, _ in rows))
        if len(files) == 1:
            self._fail(files[0], exc)
            return
        for file_id in files:
            yield from self._again([r for r in rows if r[0].file_id == file_id])

    def _fail(self, file_id: int, exc: Exception) -> None:
        self._failed.add(file_id)
        self._findings.append(
            pl.DataFrame(
                {
                    "file_id": [file_id],
                    "check": ["input"],
                    "severity": ["error"],
                    "reason": [f"internal parser error ({type(exc).__name__}); file not converted"],
                }
            ).select(
                [
                    pl.col(n).cast(t)
                    if n in ("file_id", "check", "severity", "reason")
                    else pl.lit(None, t).alias(n)
                    for n, t in checks.FINDING_COLUMNS.items()
                ]
            )
        )

    def _record(self, result: _Parsed) -> dict[str, pl.DataFrame]:
        tables, found, envelope = result
        self._findings.append(found)
        self._envelope_rows.append(envelope)
        return tables

    def _process(self, rows: list[tuple[Piece, int]], texts: list[bytes]) -> _Parsed:
        """The tables, findings and envelope rows of one batch (run in a worker thread):
        `rows` are its pieces with their first segment's offset in the file, `texts` their
        bytes (emptied here once copied, so the batch's input is not kept twice while it
        is parsed)."""
        pieces = pl.DataFrame(
            {
                "file_id": [p.file_id for p, _ in rows],
                "text": _decode(texts),
                "seg_offset": [o for _, o in rows],
            },
            schema=PIECE_SCHEMA,
        )
        texts.clear()
        inner = [(p, o) for p, o in rows if not p.starts_interchange]
        starts = pl.DataFrame(
            {
                "file_id": [p.file_id for p, _ in inner],
                "seg_pos": [o + 1 for _, o in inner],
                "isa_ctrl": [p.isa_control for p, _ in inner],
                "gs_ctrl": [p.gs_control or None for p, _ in inner],
                "gs_ver": [p.gs_version or None for p, _ in inner],
            },
            schema={
                "file_id": pl.Int64,
                "seg_pos": pl.Int64,
                "isa_ctrl": pl.String,
                "gs_ctrl": pl.String,
                "gs_ver": pl.String,
            },
        )
        del rows
        parts = Parts(segment_frame(pieces))
        del pieces
        lk = lookups(parts, starts)
        status, txn_findings = checks.transactions(parts.segs, parts, lk)
        parts.drop_stream()
        envelope = checks.envelope_rows(parts, lk)
        txn = _transactions(status, self.files, lk)
        if txn.height != parts["ST"].height:  # row i must be the transaction with st_i = i
            raise RuntimeError("transaction frame out of step with the ST segments")
        keyed = tables.build(parts, txn, lk["lx"])
        del parts
        found = pl.concat([txn_findings, checks.balancing(keyed)])
        return {name: conform(name, keyed[name]) for name in DATA_TABLES}, found, envelope

    def findings(self) -> pl.DataFrame:
        """All findings of the run (call after the batches are consumed)."""
        parts = list(self._findings)
        if self._envelope_rows:
            parts.append(checks.envelopes(pl.concat(self._envelope_rows)))
        found = pl.concat(parts).join(
            self.files.select("file_id", "source_file", "file_sha256"), on="file_id", how="left"
        )
        found = found.sort("file_id", "segment_position", nulls_last=False, maintain_order=True)
        return conform("findings", found)

    def file_summary(self) -> pl.DataFrame:
        return self.files.select("source_file", "file_sha256", "bytes")


def _decode(texts: list[bytes]) -> pl.Series:
    """The pieces' texts as UTF-8, bytes that are not UTF-8 becoming U+FFFD. Polars checks
    the bytes and keeps them as they are (no Python string per piece); only a batch with a
    piece that is not valid UTF-8 is decoded by Python."""
    try:
        return pl.Series(texts, dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.ComputeError:  # not valid UTF-8 (the cast has no non-strict mode)
        return pl.Series([t.decode("utf-8", errors="replace") for t in texts], dtype=pl.String)


def _transactions(
    status: pl.DataFrame, files: pl.DataFrame, lk: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """One row per ST of the batch, in stream order (row i = the transaction with st_i = i):
    trace columns, the key prefix `<sha16>-<ISA13>-<ST02>`, payment_key, version, status."""
    return (
        status.lazy()
        .select(
            "file_id", "st_pos", "isa_pos", "gs_pos", "is_envelope_valid", "is_complete", "is_835"
        )
        .join(
            files.lazy().select("file_id", "source_file", "file_sha256", "tag"),
            on="file_id",
            how="left",
            maintain_order="left",
        )
        .join(
            lk["isa"].lazy().unique(["file_id", "isa_pos"]),
            on=["file_id", "isa_pos"],
            how="left",
            maintain_order="left",
        )
        .join(
            lk["gs"].lazy().unique(["file_id", "gs_pos"]),
            on=["file_id", "gs_pos"],
            how="left",
            maintain_order="left",
        )
        .join(lk["st"].lazy(), on=["file_id", "st_pos"], how="left", maintain_order="left")
        .select(
            "source_file",
            "file_sha256",
            pl.col("isa_ctrl").alias("interchange_control_number"),
            pl.col("gs_ctrl").alias("group_control_number"),
            pl.col("st_ctrl").alias("transaction_control_number"),
            pl.concat_str(
                [
                    pl.col("tag"),
                    pl.col("isa_ctrl").fill_null(""),
                    pl.col("st_ctrl").fill_null(""),
                ],
                separator="-",
            ).alias("_prefix"),
            "st_pos",
            pl.coalesce("st_ver", "gs_ver").alias("implementation_version"),
            "is_envelope_valid",
            (pl.col("is_complete") & pl.col("is_835")).alias("is_converted"),
        )
        .with_columns(pl.concat_str(["_prefix", "st_pos"], separator="-").alias("payment_key"))
        .collect(engine="in-memory")
    )


def parse_835_files(
    paths: Iterable[str | Path], *, batch_bytes: int = DEFAULT_BATCH_BYTES, workers: int = 1
) -> Era835Tables:
    """Parse 835 files (or folders of them) into in-memory tables plus findings.

    Never raises for bad input: unreadable, truncated, non-X12 or unbalanced files become
    rows of `findings`; the good files (and good transactions of bad files) still convert.
    `workers` batches are parsed at once (see `ParseRun.batches`).
    """
    run = ParseRun(paths, batch_bytes, workers)
    collected: dict[str, list[pl.DataFrame]] = {name: [] for name in DATA_TABLES}
    for batch in run.batches():
        for name, frame in batch.items():
            collected[name].append(frame)
    result = {
        name: pl.concat(frames) if frames else empty(name) for name, frames in collected.items()
    }
    return Era835Tables(**result, findings=run.findings(), files=run.file_summary())
