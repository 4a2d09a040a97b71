"""Parse X12 835 files into the remittance tables, in bounded batches.

`parse_835_files(paths)` returns every table in memory (what the nightly loader calls);
`ParseRun.batches()` yields the same tables batch by batch so `rcm era` can stream them
to disk with bounded memory. Findings are collected over the whole run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import polars as pl

from rcm.era import checks, tables
from rcm.era.reader import Piece, SourceFile, plan_file, read_piece
from rcm.era.schema import TABLES, conform, empty
from rcm.era.segments import KEY_SPAN, PIECE_SCHEMA, TERM, Parts, lookups, segment_frame

DATA_TABLES = [name for name in TABLES if name != "findings"]
DEFAULT_BATCH_BYTES = 16 * 1024 * 1024
SUFFIXES = (".835", ".edi", ".txt", ".x12", ".era")


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

    def __init__(self, paths: Iterable[str | Path], batch_bytes: int = DEFAULT_BATCH_BYTES):
        self.batch_bytes = max(int(batch_bytes), 1024)
        self.sources = [
            SourceFile(file_id=i, path=p, name=p.name) for i, p in enumerate(expand_paths(paths))
        ]
        for source in self.sources:
            plan_file(source, self.batch_bytes)
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
        batch: list[Piece] = []
        size = 0
        for source in self.sources:
            for piece in source.pieces:
                if batch and size + piece.size > self.batch_bytes:
                    yield batch
                    batch, size = [], 0
                batch.append(piece)
                size += piece.size
        if batch:
            yield batch

    def batch_count(self) -> int:
        """How many batches `batches()` will yield at most (known from the plan)."""
        return sum(1 for _ in self._piece_batches())

    # ---- batches ----------------------------------------------------------------------------
    def batches(self) -> Iterator[dict[str, pl.DataFrame]]:
        offsets: dict[int, int] = {}
        for pieces in self._piece_batches():
            rows = []
            for piece in pieces:
                if piece.file_id in self._failed:
                    continue
                text = read_piece(self.sources[piece.file_id].path, piece)
                offset = offsets.get(piece.file_id, 0)
                offsets[piece.file_id] = offset + text.count(TERM)
                rows.append((piece, text, offset))
            if not rows:
                continue
            try:
                yield self._process(rows)
            except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the batch
                if len({p.file_id for p, _, _ in rows}) == 1:
                    self._fail(rows[0][0].file_id, exc)
                    continue
                for file_id in dict.fromkeys(p.file_id for p, _, _ in rows):
                    subset = [r for r in rows if r[0].file_id == file_id]
                    try:
                        yield self._process(subset)
                    except Exception as inner:  # noqa: BLE001
                        self._fail(file_id, inner)

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

    def _process(self, rows: list[tuple[Piece, str, int]]) -> dict[str, pl.DataFrame]:
        pieces = pl.DataFrame(
            {
                "file_id": [p.file_id for p, _, _ in rows],
                "text": [t for _, t, _ in rows],
                "seg_offset": [o for _, _, o in rows],
            },
            schema=PIECE_SCHEMA,
        )
        inner = [(p, o) for p, _, o in rows if not p.starts_interchange]
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
        segs = segment_frame(pieces)
        del pieces
        parts = Parts(segs)
        lk = lookups(parts, starts)
        status, txn_findings = checks.transactions(segs, parts, lk)
        envelope = checks.envelope_rows(parts, lk)
        del segs
        good = status.filter(pl.col("is_complete") & pl.col("is_835"))
        if good.height < status.height:
            parts = parts.restricted(good.select("file_id", "st_pos"))
        raw = tables.build(parts)
        del parts
        keyed = _finish(raw, self.files, good, lk)
        found = pl.concat([txn_findings, checks.balancing(keyed)])
        self._findings.append(found)
        self._envelope_rows.append(envelope)
        return {name: conform(name, keyed[name]) for name in DATA_TABLES}

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


def _finish(
    raw: dict[str, pl.DataFrame],
    files: pl.DataFrame,
    status: pl.DataFrame,
    lk: dict[str, pl.DataFrame],
) -> dict[str, pl.DataFrame]:
    """Join file metadata and control numbers (one small per-transaction frame), build the
    string keys, rename trace columns."""
    txn = (
        status.select(
            "file_id",
            "st_pos",
            (pl.col("file_id") * KEY_SPAN + pl.col("st_pos")).alias("tk"),
            "isa_pos",
            "gs_pos",
            "is_envelope_valid",
        )
        .join(
            files.select("file_id", "source_file", "file_sha256", "tag"), on="file_id", how="left"
        )
        .join(lk["isa"].unique(["file_id", "isa_pos"]), on=["file_id", "isa_pos"], how="left")
        .join(lk["gs"].unique(["file_id", "gs_pos"]), on=["file_id", "gs_pos"], how="left")
        .join(lk["st"], on=["file_id", "st_pos"], how="left")
        .select(
            "tk",
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
            pl.coalesce("st_ver", "gs_ver").alias("implementation_version"),
            "is_envelope_valid",
        )
    )

    def key(*parts: str) -> pl.Expr:
        return pl.concat_str([pl.col("_prefix"), *[pl.col(p) for p in parts]], separator="-")

    out = {}
    for name, frame in raw.items():
        columns = set(TABLES.get(name, ()) and (c.name for c in TABLES[name]))
        keys = [key("st_pos").alias("payment_key")]
        if "claim_key" in columns or name == "_stray_cas":
            keys.append(pl.when(pl.col("clp_pos") > 0).then(key("clp_pos")).alias("claim_key"))
        if "service_line_key" in columns:
            keys.append(
                pl.when(pl.col("svc_pos") > 0).then(key("svc_pos")).alias("service_line_key")
            )
        frame = frame.join(txn, on="tk", how="left", maintain_order="left").with_columns(keys)
        if name == "claims":
            frame = frame.join(
                lk["lx"].rename({"lx": "header_number"}),
                on=["file_id", "lx_pos"],
                how="left",
                maintain_order="left",
            )
        elif name == "claim_adjustments":
            frame = frame.with_columns(
                pl.concat_str(["claim_key", "seg_pos", "triplet_index"], separator="-").alias(
                    "adjustment_key"
                )
            )
        elif name == "line_adjustments":
            frame = frame.with_columns(
                pl.concat_str(
                    ["service_line_key", "seg_pos", "triplet_index"], separator="-"
                ).alias("adjustment_key")
            )
        elif name == "remarks":
            frame = frame.with_columns(key("seg_pos", "source_element").alias("remark_key"))
        elif name == "provider_adjustments":
            frame = frame.with_columns(
                pl.concat_str(["payment_key", "seg_pos", "pair_index"], separator="-").alias(
                    "provider_adjustment_key"
                )
            )
        out[name] = frame.rename({"seg_pos": "segment_position"})
    return out


def parse_835_files(
    paths: Iterable[str | Path], *, batch_bytes: int = DEFAULT_BATCH_BYTES
) -> Era835Tables:
    """Parse 835 files (or folders of them) into in-memory tables plus findings.

    Never raises for bad input: unreadable, truncated, non-X12 or unbalanced files become
    rows of `findings`; the good files (and good transactions of bad files) still convert.
    """
    run = ParseRun(paths, batch_bytes)
    collected: dict[str, list[pl.DataFrame]] = {name: [] for name in DATA_TABLES}
    for batch in run.batches():
        for name, frame in batch.items():
            collected[name].append(frame)
    result = {
        name: pl.concat(frames) if frames else empty(name) for name, frames in collected.items()
    }
    return Era835Tables(**result, findings=run.findings(), files=run.file_summary())
