"""The segment stream: a batch of pieces split into one row per segment, with its context.

Everything here is vectorized polars over text whose delimiters were already mapped to
canonical control characters (see `reader.canonical`), so every split is a literal one.
Context is carried as segment positions (integers, forward-filled): the interchange, group,
transaction, LX, CLP and SVC each segment belongs to. Besides the positions, every row
carries dense indexes of its transaction, claim and service line within the batch (the
n-th ST, CLP, SVC of the batch, 0-based), so per-transaction and per-claim values reach
child rows by a gather instead of a hash join. The control numbers themselves are looked
up from the few envelope rows (`lookups`) when the output tables are built.
"""

from __future__ import annotations

import polars as pl

ELEM = "\x1d"  # element separator after canonicalisation
COMP = "\x1f"  # component separator
TERM = "\x1e"  # segment terminator

# every segment id the checks and tables read, as a small integer code (0 = any other id)
SEGMENT_IDS = [
    "ISA", "IEA", "GS", "GE", "ST", "SE", "BPR", "TRN", "DTM", "N1", "LX", "CLP", "CAS",
    "NM1", "MIA", "MOA", "AMT", "SVC", "REF", "LQ", "PLB",
]  # fmt: skip
CODES = {seg_id: k for k, seg_id in enumerate(SEGMENT_IDS, start=1)}
# segments that close the claim (2100) or service line (2110) context
_CLAIM_END = ["LX", "PLB", "SE", "ST", "GE", "GS", "IEA", "ISA"]
_ENVELOPE_OUT = ["GE", "GS", "IEA", "ISA"]
# context columns every part keeps; the envelope and CLP parts keep a few more
_CONTEXT = ["file_id", "seg_pos", "st_pos", "st_i", "clp_i", "svc_i"]
_EXTRA = {
    "ISA": ["isa_pos", "gs_pos"],
    "IEA": ["isa_pos", "gs_pos"],
    "GS": ["isa_pos", "gs_pos"],
    "GE": ["isa_pos", "gs_pos"],
    "ST": ["isa_pos", "gs_pos", "row_nr"],
    "SE": ["row_nr"],
    "CLP": ["lx_pos"],
}

# `_code`: the first 4 characters of a segment that has one of the ids (3-character ids
# with their separator, or the whole segment), and the first 3 (2-character ids)
if any(len(seg_id) not in (2, 3) for seg_id in SEGMENT_IDS):
    raise RuntimeError("segment ids must have 2 or 3 characters")
_HEAD4 = [*SEGMENT_IDS, *(seg_id + ELEM for seg_id in SEGMENT_IDS if len(seg_id) == 3)]
_HEAD3 = [seg_id + ELEM for seg_id in SEGMENT_IDS if len(seg_id) == 2]

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


def _code(seg: pl.Expr) -> pl.Expr:
    """The segment's id as its code in `CODES` (0 = any other id), from the first four
    characters only: the id is the text before the first element separator, and every id
    read has 2 or 3 characters, so it is one of them exactly when the segment starts with a
    3-character id and a separator, or is nothing but an id (the first 4 characters), or
    starts with a 2-character id and a separator (the first 3)."""

    def lookup(head: pl.Expr, keys: list[str]) -> pl.Expr:
        codes = pl.Series([CODES[key.rstrip(ELEM)] for key in keys], dtype=pl.UInt8)
        return pl.lit(codes).gather(head.cast(pl.Enum(keys), strict=False).to_physical())

    return pl.coalesce(lookup(seg.str.head(4), _HEAD4), lookup(seg.str.head(3), _HEAD3), 0)


def segment_frame(pieces: pl.DataFrame) -> pl.DataFrame:
    """One row per non-empty segment: file_id, seg_pos, row_nr, code, `seg` (the segment's
    text; `Parts` splits it into its elements), positions of the enclosing ISA, GS, ST and
    LX (0 = none) and the batch indexes st_i, clp_i, svc_i of the enclosing ST, CLP and SVC
    (null = none).

    The segments are not split into elements here: `Parts` cuts the stream by id first (one
    text per segment is cheaper to cut than its element list) and each part splits its own
    segments when read, so the element lists exist once, part by part, and not all at once
    next to a second, cut copy (which was a fifth of a batch's memory)."""
    pos = pl.col("seg_pos")
    first = pl.col("idx") == 0

    def sid(*ids: str) -> pl.Expr:
        return pl.col("code").is_in([CODES[i] for i in ids])

    def carry(mark: pl.Expr, name: str) -> pl.Expr:
        return mark.forward_fill().fill_null(0).alias(name)

    def inside(mark: pl.Expr, name: str) -> pl.Expr:
        # whether a row is inside the segment marked True (a carry that needs no position)
        return mark.forward_fill().fill_null(False).alias(name)

    def index(seg_id: str, within: pl.Expr, name: str) -> pl.Expr:
        # the n-th such segment of the batch (0-based), where the row is inside one; as
        # UInt32, polars' own index type, so gathers by it need no conversion
        count = (pl.col("code") == CODES[seg_id]).cum_sum().cast(pl.UInt32)
        return pl.when(within).then(count - 1).alias(name)

    return (
        pieces.lazy()
        .select("file_id", "seg_offset", pl.col("text").str.split(TERM).alias("seg"))
        .with_columns(pl.int_ranges(0, pl.col("seg").list.len()).alias("idx"))
        .explode(["seg", "idx"])
        .with_columns(pl.col("seg").str.strip_chars("\r\n"))
        .filter(pl.col("seg") != "")
        .select(
            "file_id",
            "idx",
            (pl.col("seg_offset") + pl.col("idx") + 1).alias("seg_pos"),
            "seg",
        )
        .with_columns(_code(pl.col("seg")).alias("code"))
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
            inside(
                pl.when(sid("CLP")).then(True).when(sid(*_CLAIM_END) | first).then(False),
                "in_clp",
            ),
            inside(
                pl.when(sid("SVC")).then(True).when(sid(*_CLAIM_END, "CLP") | first).then(False),
                "in_svc",
            ),
        )
        .with_columns(
            index("ST", pl.col("st_pos") > 0, "st_i"),
            index("CLP", pl.col("in_clp"), "clp_i"),
            index("SVC", pl.col("in_svc"), "svc_i"),
        )
        .with_row_index("row_nr")
        .select(
            "file_id",
            "seg_pos",
            pl.col("row_nr").cast(pl.Int64),
            "code",
            "seg",
            "isa_pos",
            "gs_pos",
            "st_pos",
            "lx_pos",
            "st_i",
            "clp_i",
            "svc_i",
        )
        .collect(engine="in-memory")
    )


class Parts:
    """The segments of a batch by segment id (one `partition_by` on the code of the segment
    texts), with the context columns and their `el` lists (each part splits its segments
    into elements when first read); empty frames for absent ids. The checks and every table
    read their segments from here instead of filtering the whole stream again. The few
    envelope and CLP rows also get the columns only they need (`_EXTRA`).

    `segs` is the stream without the texts, for the checks; `drop_stream` frees it once
    they ran, and `pop` hands a part over for good, so the element lists of the big parts
    do not all stay alive until the whole batch is built."""

    def __init__(self, segs: pl.DataFrame) -> None:
        main = segs.select("code", *_CONTEXT, "seg")
        self.segs: pl.DataFrame | None = segs.drop("seg")
        del segs
        self._empty = main.clear().drop("code")
        self._parts: dict[int, pl.DataFrame] = {
            key[0]: frame
            for key, frame in main.partition_by("code", as_dict=True, include_key=False).items()
        }
        del main
        # the extra columns of the few segments that have them, cut out of the stream once
        wanted = self.segs.filter(pl.col("code").is_in([CODES[i] for i in _EXTRA]))
        found = wanted.partition_by("code", as_dict=True) if wanted.height else {}
        self._extra = {
            seg_id: found.get((CODES[seg_id],), wanted.clear()).select(extra)
            for seg_id, extra in _EXTRA.items()
        }
        self._done: dict[str, pl.DataFrame] = {}
        self._popped: set[str] = set()

    def drop_stream(self) -> None:
        """Free `segs` (call once the checks that read it ran)."""
        self.segs = None

    def __getitem__(self, seg_id: str) -> pl.DataFrame:
        frame = self._done.get(seg_id)
        if frame is None:
            if seg_id in self._popped:
                raise RuntimeError(f"the {seg_id} segments were already handed over (pop)")
            frame = self._parts.pop(CODES[seg_id], self._empty).select(
                *_CONTEXT, pl.col("seg").str.split(ELEM).alias("el")
            )
            extra = self._extra.get(seg_id)
            if extra is not None:
                frame = frame.hstack(extra.get_columns())
            self._done[seg_id] = frame
        return frame

    def pop(self, seg_id: str) -> pl.DataFrame:
        """The part, no longer kept here (for a part read once or by one function)."""
        frame = self[seg_id]
        del self._done[seg_id]
        self._popped.add(seg_id)
        return frame


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
