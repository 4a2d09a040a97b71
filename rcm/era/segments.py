"""The segment stream: a batch of pieces split into one row per segment, with its context.

Everything here is vectorized polars over text whose delimiters were already mapped to
canonical control characters (see `reader.canonical`), so every split is a literal one.
Context is carried as segment positions (integers, forward-filled): the interchange, group,
transaction, LX, CLP and SVC each segment belongs to. The control numbers themselves are
looked up from the few envelope rows (`lookups`) when the output tables are built.
"""

from __future__ import annotations

import polars as pl

ELEM = "\x1d"  # element separator after canonicalisation
COMP = "\x1f"  # component separator
TERM = "\x1e"  # segment terminator

# segments that close the claim (2100) or service line (2110) context
_CLAIM_END = ["LX", "PLB", "SE", "ST", "GE", "GS", "IEA", "ISA"]
_ENVELOPE_OUT = ["GE", "GS", "IEA", "ISA"]
_CONTEXT_IDS = ["ISA", "GS", "ST", "LX", "CLP", "SVC", "PLB", "SE", "GE", "IEA"]

KEY_SPAN = 1 << 40  # positions stay far below this; key = file_id * KEY_SPAN + position

PIECE_SCHEMA = {
    "file_id": pl.Int64,
    "text": pl.String,
    "seg_offset": pl.Int64,
}


def el(i: int | pl.Expr) -> pl.Expr:
    """Element i (an int or a per-row expression; 0 = segment id) of the `el` list; null
    when absent or empty. Empty elements become null here, per extracted element, which is
    cheaper than rewriting every element of every list."""
    value = pl.col("el").list.get(i, null_on_oob=True)
    return pl.when(value != "").then(value)


def with_elements(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the `el` list (the segment split on the element separator; read it with `el`)."""
    return frame.with_columns(pl.col("seg").str.split(ELEM).alias("el"))


def segment_frame(pieces: pl.DataFrame) -> pl.DataFrame:
    """One row per non-empty segment: file_id, seg_pos, row_nr, seg_id, seg and positions
    of the enclosing ISA, GS, ST, LX, CLP and SVC (0 = none)."""
    pos = pl.col("seg_pos")
    first = pl.col("idx") == 0
    # the context-changing segment ids as small integers: the six carries below compare
    # integers instead of strings (about 4x cheaper)
    codes = {seg_id: k for k, seg_id in enumerate(_CONTEXT_IDS, start=1)}

    def sid(*ids: str) -> pl.Expr:
        return pl.col("_code").is_in([codes[i] for i in ids])

    def carry(mark: pl.Expr, name: str) -> pl.Expr:
        return mark.forward_fill().fill_null(0).alias(name)

    return (
        pieces.lazy()
        .select(
            "file_id",
            "seg_offset",
            pl.col("text").str.split(TERM).alias("seg"),
        )
        .with_columns(pl.int_ranges(0, pl.col("seg").list.len()).alias("idx"))
        .explode(["seg", "idx"])
        .with_columns(pl.col("seg").str.strip_chars("\r\n"))
        .filter(pl.col("seg") != "")
        .with_columns(
            (pl.col("seg_offset") + pl.col("idx") + 1).alias("seg_pos"),
            pl.col("seg")
            .str.slice(0, pl.col("seg").str.find(ELEM, literal=True).fill_null(10))
            .alias("seg_id"),
        )
        .with_columns(
            pl.col("seg_id").replace_strict(codes, default=0, return_dtype=pl.UInt8).alias("_code")
        )
        .with_columns(
            carry(pl.when(sid("ISA") | first).then(pos), "isa_pos"),
            carry(pl.when(sid("GS") | first).then(pos).when(sid("ISA")).then(0), "gs_pos"),
            carry(
                pl.when(sid("ST")).then(pos).when(sid(*_ENVELOPE_OUT) | first).then(0),
                "st_pos",
            ),
            carry(
                pl.when(sid("LX")).then(pos).when(sid("ST", *_ENVELOPE_OUT) | first).then(0),
                "lx_pos",
            ),
            carry(
                pl.when(sid("CLP")).then(pos).when(sid(*_CLAIM_END) | first).then(0),
                "clp_pos",
            ),
            carry(
                pl.when(sid("SVC")).then(pos).when(sid(*_CLAIM_END, "CLP") | first).then(0),
                "svc_pos",
            ),
        )
        .with_row_index("row_nr")
        .with_columns(
            # single-integer join keys (file_id, position): faster than two-column joins
            (pl.col("file_id") * KEY_SPAN + pl.col("st_pos")).alias("tk"),
            (pl.col("file_id") * KEY_SPAN + pl.col("clp_pos")).alias("ck"),
            (pl.col("file_id") * KEY_SPAN + pl.col("svc_pos")).alias("sk"),
        )
        .select(
            "file_id",
            "seg_pos",
            pl.col("row_nr").cast(pl.Int64),
            "seg_id",
            "seg",
            "isa_pos",
            "gs_pos",
            "st_pos",
            "lx_pos",
            "clp_pos",
            "svc_pos",
            "tk",
            "ck",
            "sk",
        )
        .collect()
    )


class Parts:
    """The segments of a batch split by segment id (one pass), each part split into its
    elements (`el`, replacing the raw text) on first use; empty frames for absent ids. The
    checks and every table read their segments from here instead of filtering the whole
    stream again."""

    def __init__(self, segs: pl.DataFrame | None = None) -> None:
        self._empty = with_elements(segs.clear()).drop("seg") if segs is not None else None
        self._parts: dict[str, pl.DataFrame] = (
            {key[0]: frame for key, frame in segs.partition_by("seg_id", as_dict=True).items()}
            if segs is not None
            else {}
        )

    def __getitem__(self, seg_id: str) -> pl.DataFrame:
        frame = self._parts.get(seg_id)
        if frame is None:
            return self._empty
        if "el" not in frame.columns:
            frame = self._parts[seg_id] = with_elements(frame).drop("seg")
        return frame

    def restricted(self, transactions: pl.DataFrame) -> Parts:
        """Only the segments of these transactions (file_id, st_pos)."""
        keep = Parts()
        keep._empty = self._empty
        keep._parts = {
            seg_id: frame.join(transactions, on=["file_id", "st_pos"], how="semi")
            for seg_id, frame in self._parts.items()
        }
        return keep


def lookups(parts: Parts, piece_starts: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Control numbers by position: isa (isa_pos -> ISA13), gs (gs_pos -> GS06, GS08),
    st (st_pos -> ST01, ST02, ST03) and lx (lx_pos -> LX01).

    `piece_starts` (file_id, seg_pos, isa_ctrl, gs_ctrl, gs_ver) supplies the values for
    pieces that start inside an interchange (at an ST)."""

    def rows(seg_id: str) -> pl.DataFrame:
        return parts[seg_id]

    isa = rows("ISA").select(
        "file_id", pl.col("seg_pos").alias("isa_pos"), el(13).str.strip_chars().alias("isa_ctrl")
    )
    gs = rows("GS").select(
        "file_id",
        pl.col("seg_pos").alias("gs_pos"),
        el(6).alias("gs_ctrl"),
        el(8).alias("gs_ver"),
    )
    starts = piece_starts.select("file_id", "seg_pos", "isa_ctrl", "gs_ctrl", "gs_ver")
    isa = pl.concat([isa, starts.select("file_id", pl.col("seg_pos").alias("isa_pos"), "isa_ctrl")])
    gs = pl.concat(
        [gs, starts.select("file_id", pl.col("seg_pos").alias("gs_pos"), "gs_ctrl", "gs_ver")]
    )
    st = rows("ST").select(
        "file_id",
        pl.col("seg_pos").alias("st_pos"),
        el(1).fill_null("").alias("st_set"),
        el(2).alias("st_ctrl"),
        el(3).alias("st_ver"),
    )
    lx = rows("LX").select("file_id", pl.col("seg_pos").alias("lx_pos"), el(1).alias("lx"))
    return {"isa": isa, "gs": gs, "st": st, "lx": lx}
