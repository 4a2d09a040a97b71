"""X12 835 005010X221A1 writer for the synthetic remittances (vectorized with polars).

Segments are built as polars string columns with placeholder delimiters (ASCII control
characters that never occur in data). Each piece of text (claim header, claim tail, line
head, line tail, one CAS triplet, transaction header with its envelope, transaction
trailer) gets one Int64 sort key, so a single sort puts every file's text in order; each
file is then one `str.join` of a contiguous slice, translated to its own delimiters with
one `bytes.translate`. Python loops run over files only.

Files: one per remittance day x payer (`remittances/era_YYYY-MM-DD_NNN.835`), one
transaction (ST..SE, its own BPR/TRN) per payee facility. Envelope variety is
deterministic by seed: each file gets one of `DELIMITER_STYLES` (element `*` `|` `!`,
component `:` `>` `^`, terminator `~` `'` `\\`, with or without line breaks) and one of
three layouts (one ISA/GS with several ST; one ISA/GS/ST per transaction; one ISA with a
GS per transaction). ST03 is omitted: the 835 TR3 marks it "not used" (pyx12 rejects it).
Amounts are written without trailing zeros (100, 100.5, -3.07).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from rcm.generate.remit import Remittances

# placeholders: element, component, repetition, segment terminator
E, C, R, T = "\x1d", "\x1f", "\x1c", "\x1e"
VERSION = "005010X221A1"


@dataclass(frozen=True)
class DelimiterStyle:
    """One file's delimiters; `line_break` follows each segment terminator."""

    element: str
    component: str
    repetition: str
    terminator: str
    line_break: str

    def table(self) -> bytes:
        src = (E + C + R).encode("ascii")
        return bytes.maketrans(src, (self.element + self.component + self.repetition).encode())


DELIMITER_STYLES: tuple[DelimiterStyle, ...] = (
    DelimiterStyle("*", ":", "^", "~", "\n"),
    DelimiterStyle("*", ":", "^", "~", ""),
    DelimiterStyle("|", ">", "^", "~", "\r\n"),
    DelimiterStyle("!", ":", "^", "'", ""),
    DelimiterStyle("*", "^", "{", "~", "\n"),
    DelimiterStyle("|", ":", "^", "\\", "\n"),
    DelimiterStyle("*", ">", "^", "'", "\n"),
)
# 0: one ISA/GS, several ST; 1: one ISA/GS/ST per transaction; 2: one ISA, one GS per ST
ENVELOPE_LAYOUTS = 3


# ----------------------------------------------------------------------------------------------
# expression helpers


_CENTS = pl.Series([""] + [f".{r // 10}" if r % 10 == 0 else f".{r:02d}" for r in range(1, 100)])
_SIGN = pl.Series(["", "-"])


def _amt(expr: pl.Expr) -> pl.Expr:
    """Cents -> X12 decimal with no trailing zeros (100, 100.5, 100.25, -3.07)."""
    a = expr.abs()
    return pl.concat_str(
        pl.lit(_SIGN).gather((expr < 0).cast(pl.UInt32)),
        (a // 100).cast(pl.String),
        pl.lit(_CENTS).gather((a % 100).cast(pl.UInt32)),
    )


def _seg(*elements: pl.Expr | str) -> pl.Expr:
    """A segment: null when any element is null (so optional segments drop out)."""
    parts: list[pl.Expr] = []
    for i, el in enumerate(elements):
        if i:
            parts.append(pl.lit(E))
        parts.append(pl.lit(el) if isinstance(el, str) else el)
    parts.append(pl.lit(T))
    return pl.concat_str(parts, ignore_nulls=False)


def _d8(expr: pl.Expr) -> pl.Expr:
    """Date -> CCYYMMDD (integer arithmetic: much faster than strftime)."""
    y, m, d = (e.cast(pl.Int32) for e in (expr.dt.year(), expr.dt.month(), expr.dt.day()))
    return (y * 10000 + m * 100 + d).cast(pl.String)


def _nn(segments: list[pl.Expr]) -> pl.Expr:
    """Number of non-null (emitted) segments."""
    return pl.sum_horizontal([s.is_not_null().cast(pl.Int64) for s in segments])


# Every piece of text gets one Int64 sort key: slot << 22 | line << 10 | part << 8 | sub.
# Slots number, in file order, each transaction's header, its claims, and its trailer.
_LINE_SHIFT, _PART_SHIFT, _SLOT_SHIFT = 10, 8, 22
_MAX_LINE = (1 << (_SLOT_SHIFT - _LINE_SHIFT)) - 2


def _key(slot: pl.Expr, line: pl.Expr | int, part: int, sub: pl.Expr | int = 0) -> pl.Expr:
    line_e = pl.lit(line) if isinstance(line, int) else line
    sub_e = pl.lit(sub) if isinstance(sub, int) else sub
    return (
        slot.cast(pl.Int64) * (1 << _SLOT_SHIFT)
        + line_e.cast(pl.Int64) * (1 << _LINE_SHIFT)
        + (part << _PART_SHIFT)
        + sub_e.cast(pl.Int64)
    ).alias("key")


# ----------------------------------------------------------------------------------------------
# pieces


def _cas_pieces(adjustments: pl.DataFrame, slots: pl.DataFrame) -> pl.DataFrame:
    """One piece per CAS triplet; a segment opens every 6 triplets or new group code."""
    adj = (
        adjustments.select(
            "adj_id",
            (pl.col("line_number").cast(pl.Int64) + 1).fill_null(0).alias("_ln"),
            "group_code",
            "carc_code",
            "amount_cents",
            "seq",
        )
        .sort("adj_id", "_ln", "group_code", "seq")
        .join(slots, on="adj_id", how="left", maintain_order="left")
    )
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    same_block = (pl.col("adj_id") == pl.col("adj_id").shift(1)) & (
        pl.col("_ln") == pl.col("_ln").shift(1)
    )
    same_run = same_block & (pl.col("group_code") == pl.col("group_code").shift(1))
    adj = adj.with_columns(
        same_block.fill_null(False).alias("_sb"), same_run.fill_null(False).alias("_sr")
    ).with_columns(
        (row - pl.when(~pl.col("_sb")).then(row).forward_fill()).alias("_sub"),
        (row - pl.when(~pl.col("_sr")).then(row).forward_fill()).alias("_pos"),
    )
    adj = adj.with_columns((~pl.col("_sr") | (pl.col("_pos") % 6 == 0)).alias("_new"))
    cont = pl.col("_new").shift(-1).fill_null(True).not_()
    return adj.select(
        _key(pl.col("_slot"), pl.col("_ln"), 1, pl.col("_sub").clip(0, 255)),
        pl.col("_tx"),
        pl.concat_str(
            pl.when(pl.col("_new"))
            .then(pl.concat_str(pl.lit("CAS" + E), pl.col("group_code"), pl.lit(E)))
            .otherwise(pl.lit("")),
            pl.col("carc_code"),
            pl.lit(E),
            _amt(pl.col("amount_cents")),
            pl.when(cont).then(pl.lit(E + E)).otherwise(pl.lit(T)),
        ).alias("txt"),
        pl.col("_new").cast(pl.Int64).alias("n"),
    )


def _line_pieces(lines: pl.DataFrame, slots: pl.DataFrame) -> pl.DataFrame:
    hc = pl.col("hcpcs_code").is_not_null() & (pl.col("hcpcs_code") != "")
    mods = pl.col("modifiers").list.join(C).fill_null("")
    comp = (
        pl.when(hc)
        .then(
            pl.concat_str(
                pl.lit("HC" + C),
                pl.col("hcpcs_code"),
                pl.when(mods != "").then(pl.concat_str(pl.lit(C), mods)).otherwise(pl.lit("")),
            )
        )
        .otherwise(pl.concat_str(pl.lit("NU" + C), pl.col("revenue_code")))
    )
    svc = _seg(
        "SVC",
        comp,
        _amt(pl.col("charge_cents")),
        _amt(pl.col("paid_cents")),
        pl.when(hc).then(pl.col("revenue_code")).otherwise(pl.lit("")).fill_null(""),
        pl.col("units").abs().cast(pl.String).fill_null("1"),
    )
    head = [svc, _seg("DTM", "472", _d8(pl.col("service_date")))]
    tail = [
        _seg("REF", "6R", pl.coalesce(pl.col("charge_id"), pl.col("line_number").cast(pl.String))),
        _seg("AMT", "B6", _amt(pl.col("allowed_cents"))),
        _seg("LQ", "HE", pl.col("remark_code")),
    ]
    ln = lines.join(slots, on="adj_id", how="left", maintain_order="left")
    line = pl.col("line_number").cast(pl.Int64) + 1
    return pl.concat(
        [
            ln.select(
                _key(pl.col("_slot"), line, 0),
                pl.col("_tx"),
                pl.concat_str(head, ignore_nulls=True).alias("txt"),
                _nn(head).alias("n"),
            ),
            ln.select(
                _key(pl.col("_slot"), line, 2),
                pl.col("_tx"),
                pl.concat_str(tail, ignore_nulls=True).alias("txt"),
                _nn(tail).alias("n"),
            ),
        ]
    )


def _claim_pieces(claims: pl.DataFrame) -> pl.DataFrame:
    cl = claims
    drg = pl.col("drg_code").is_not_null() & (pl.col("drg_code") != "")
    clp = pl.concat_str(
        [
            pl.lit("CLP" + E),
            pl.col("claim_id"),
            pl.lit(E),
            pl.col("status_code"),
            pl.lit(E),
            _amt(pl.col("charge_cents")),
            pl.lit(E),
            _amt(pl.col("paid_cents")),
            pl.lit(E),
            _amt(pl.col("patient_resp_cents")),
            pl.lit(E),
            pl.col("filing_indicator"),
            pl.lit(E),
            pl.col("payer_claim_number"),
            pl.lit(E),
            pl.col("facility_type_code"),
            pl.lit(E),
            pl.col("frequency_code"),
            pl.when(drg)
            .then(pl.concat_str(pl.lit(E + E), pl.col("drg_code")))
            .otherwise(pl.lit("")),
            pl.lit(T),
        ]
    )
    lx = pl.when(pl.col("_lx_start")).then(
        pl.concat_str(pl.lit("LX" + E), pl.col("_lx").cast(pl.String), pl.lit(T))
    )
    sub = pl.col("subscriber_first").is_not_null()
    qc = pl.concat_str(
        pl.lit("NM1" + E + "QC" + E + "1" + E),
        pl.col("patient_last"),
        pl.lit(E),
        pl.col("patient_first"),
        pl.lit(E),
        pl.col("patient_middle"),
        pl.when(sub)
        .then(pl.lit(""))
        .otherwise(pl.concat_str(pl.lit(E * 3 + "MI" + E), pl.col("member_id"))),
        pl.lit(T),
    )
    il = pl.when(sub).then(
        _seg("NM1", "IL", "1", pl.col("patient_last"),
             pl.concat_str(pl.col("subscriber_first"), pl.lit(E * 4 + "MI")),
             pl.col("member_id"))
    )  # fmt: skip
    mia = pl.when(pl.col("covered_days").is_not_null()).then(
        pl.concat_str(
            pl.lit("MIA" + E),
            pl.col("covered_days").cast(pl.String),
            pl.lit(E * 3),
            _amt(pl.col("paid_cents")),
            pl.when(pl.col("mia_remark").is_not_null())
            .then(pl.concat_str(pl.lit(E), pl.col("mia_remark")))
            .otherwise(pl.lit("")),
            pl.lit(T),
        )
    )
    head = [lx, clp]
    rest = [
        qc,
        il,
        mia,
        _seg("MOA", "", "", pl.col("moa_remarks")),
        _seg("DTM", "232", _d8(pl.col("statement_from"))),
        _seg("DTM", "233", _d8(pl.col("statement_to"))),
        _seg("DTM", "050", _d8(pl.col("received_date"))),
    ]
    return pl.concat(
        [
            cl.select(
                _key(pl.col("_slot"), 0, 0),
                pl.col("_tx"),
                pl.concat_str(head, ignore_nulls=True).alias("txt"),
                _nn(head).alias("n"),
            ),
            cl.select(
                _key(pl.col("_slot"), 0, 2),
                pl.col("_tx"),
                pl.concat_str(rest, ignore_nulls=True).alias("txt"),
                _nn(rest).alias("n"),
            ),
        ]
    )


def _plb_segments(rem: Remittances) -> pl.DataFrame:
    plb = rem.provider_adjustments.join(
        rem.transactions.select("transaction_id", "payee_npi", "remit_date"), on="transaction_id"
    ).sort("transaction_id", "seq")
    plb = plb.with_columns(
        pl.concat_str(
            pl.col("reason_code"),
            pl.when(pl.col("reference").is_not_null())
            .then(pl.concat_str(pl.lit(C), pl.col("reference")))
            .otherwise(pl.lit("")),
            pl.lit(E),
            _amt(pl.col("amount_cents")),
        ).alias("_pair"),
        (pl.int_range(pl.len()).over("transaction_id") // 6).alias("_chunk"),
    )
    segs = plb.group_by("transaction_id", "_chunk", maintain_order=True).agg(
        pl.col("_pair").str.join(E),
        pl.col("payee_npi").first(),
        pl.col("remit_date").first(),
    )
    segs = segs.with_columns(
        pl.concat_str(
            pl.lit("PLB" + E),
            pl.col("payee_npi"),
            pl.lit(E),
            _d8(pl.col("remit_date")),  # fiscal period date: no date after the window
            pl.lit(E),
            pl.col("_pair"),
            pl.lit(T),
        ).alias("_plb"),
    )
    return segs.group_by("transaction_id", maintain_order=True).agg(
        pl.col("_plb").str.join("").alias("plb"), pl.len().cast(pl.Int64).alias("plb_n")
    )


def _header_segments(tx: pl.DataFrame) -> pl.DataFrame:
    date = _d8(pl.col("remit_date"))
    amount = _amt(pl.col("bpr_cents"))
    bpr = (
        pl.when(pl.col("bpr_cents") == 0)
        .then(_seg("BPR", "H", "0", "C", pl.concat_str(pl.lit("NON" + E * 12), date)))
        .when(pl.col("payment_method") == "CHK")
        .then(_seg("BPR", "I", amount, "C", pl.concat_str(pl.lit("CHK" + E * 12), date)))
        .otherwise(
            _seg(
                "BPR",
                "I",
                amount,
                "C",
                "ACH",
                "CCP",
                "01",
                "071000013",
                "DA",
                "40012345",
                pl.concat_str(pl.lit("1"), pl.col("payer_tin")),
                "",
                "01",
                "021000021",
                "DA",
                pl.concat_str(pl.lit("7"), pl.col("payee_tin").str.slice(0, 8)),
                date,
            )  # fmt: skip
        )
    )
    n1pr = (
        pl.when(pl.col("payer_id_qualified"))
        .then(_seg("N1", "PR", pl.col("payer_name"), "XV", pl.col("payer_key")))
        .otherwise(_seg("N1", "PR", pl.col("payer_name")))
    )
    header = [
        bpr,
        _seg("TRN", "1", pl.col("trace_number"), pl.concat_str(pl.lit("1"), pl.col("payer_tin"))),
        pl.when(pl.col("payment_method") == "ACH").then(_seg("REF", "EV", pl.col("payee_tin"))),
        _seg("DTM", "405", date),
        n1pr,
        _seg("N3", pl.col("payer_address1")),
        _seg("N4", pl.col("payer_city"), pl.col("payer_state"), pl.col("payer_zip")),
        _seg("PER", "BL", "PROVIDER SERVICES", "TE", pl.col("payer_phone")),
        _seg("N1", "PE", pl.col("payee_name"), "XX", pl.col("payee_npi")),
        _seg("N3", pl.col("payee_address1")),
        _seg("N4", pl.col("payee_city"), pl.col("payee_state"), pl.col("payee_zip")),
        _seg("REF", "TJ", pl.col("payee_tin")),
    ]
    return tx.with_columns(
        pl.concat_str(header, ignore_nulls=True).alias("_hdr"), _nn(header).alias("_hdr_n")
    )


def _pad(expr: pl.Expr, width: int) -> pl.Expr:
    return expr.str.slice(0, width).str.pad_end(width)


def write_835_files(remittances: Remittances, out_dir: Path, seed: int | None = None) -> list[Path]:
    """Write `remittances/era_YYYY-MM-DD_NNN.835` files under `out_dir`; return their paths.

    One file per remittance day x payer (each payee a transaction), numbered NNN within the
    day. Each file's delimiters and envelope layout are chosen deterministically from
    `seed` (default: the seed the remittances were simulated with).
    """
    rem = remittances
    seed = rem.seed if seed is None else seed
    folder = Path(out_dir) / "remittances"
    folder.mkdir(parents=True, exist_ok=True)
    if rem.claims.height == 0:
        return []
    if rem.lines.height and rem.lines["line_number"].max() > _MAX_LINE:
        raise ValueError(f"line_number above {_MAX_LINE} cannot be written")

    # ---- claim order and slots: header, claims..., trailer per transaction --------------
    role = pl.col("_role").replace_strict(
        {"initial": 0, "overturn": 1, "reversal": 2, "correction": 3}, return_dtype=pl.Int8
    )
    cl = rem.claims.sort("transaction_id", "facility_type_code", "claim_id", role)
    tx_change = pl.col("transaction_id") != pl.col("transaction_id").shift(1)
    ft_change = pl.col("facility_type_code") != pl.col("facility_type_code").shift(1)
    cl = cl.with_columns(
        pl.col("transaction_id").alias("_tx"),
        (pl.int_range(pl.len(), dtype=pl.Int64) + 2 * pl.col("transaction_id") + 1).alias("_slot"),
        (tx_change | ft_change).fill_null(True).alias("_lx_start"),
    ).with_columns(
        pl.col("_lx_start").cast(pl.Int64).cum_sum().alias("_lxg"),
        tx_change.fill_null(True).cast(pl.Int64).cum_sum().alias("_txg"),
    )
    cl = cl.with_columns((pl.col("_lxg") - pl.col("_lxg").min().over("_txg") + 1).alias("_lx"))
    slots = cl.select("adj_id", "_slot", "_tx")
    pieces = pl.concat(
        [
            _claim_pieces(cl),
            _line_pieces(rem.lines, slots),
            _cas_pieces(rem.adjustments, slots),
        ]
    )
    body = pieces.group_by("_tx").agg(pl.col("n").sum().alias("_body_n"))
    bounds = cl.group_by("_tx").agg(
        (pl.col("_slot").min() - 1).alias("_first"), (pl.col("_slot").max() + 1).alias("_last")
    )

    # ---- transactions, files, envelopes -------------------------------------------------
    tx = (
        _header_segments(rem.transactions)
        .rename({"transaction_id": "_tx"})
        .join(body, on="_tx", how="left")
        .join(bounds, on="_tx", how="inner")
        .join(_plb_segments(rem).rename({"transaction_id": "_tx"}), on="_tx", how="left")
        .with_columns(
            (
                pl.col("_hdr_n") + pl.col("_body_n").fill_null(0) + pl.col("plb_n").fill_null(0) + 2
            ).alias("_se_n")
        )
        .sort("_tx")
    )
    rng = np.random.default_rng([seed, 8354])
    style_off, layout_off = (int(x) for x in rng.integers(0, 1000, 2))
    base_ctrl = int(rng.integers(1000, 90_000))
    files = (
        tx.select("remit_date", "payer_id")
        .unique()
        .sort("remit_date", "payer_id")
        .with_row_index("file_id")
        .with_columns(
            pl.col("file_id").cast(pl.Int64),
            (pl.int_range(pl.len()).over("remit_date") + 1).alias("file_seq"),
        )
        .with_columns(
            ((pl.col("file_id") + style_off) % len(DELIMITER_STYLES)).alias("style"),
            ((pl.col("file_id") + layout_off) % ENVELOPE_LAYOUTS).alias("layout"),
        )
    )
    tx = tx.join(files, on=["remit_date", "payer_id"]).sort("file_id", "_tx")
    pos = pl.int_range(pl.len()).over("file_id")
    tx = tx.with_columns(pos.alias("_pos"), pl.len().over("file_id").alias("_ntx"))
    single = pl.col("layout") == 0
    one_isa = single | (pl.col("layout") == 2)
    first, last = pl.col("_pos") == 0, pl.col("_pos") == pl.col("_ntx") - 1
    tx = tx.with_columns(
        pl.when(one_isa).then(first).otherwise(True).alias("_isa_start"),
        pl.when(single).then(first).otherwise(True).alias("_gs_start"),
        pl.when(one_isa).then(last).otherwise(True).alias("_isa_end"),
        pl.when(single).then(last).otherwise(True).alias("_gs_end"),
    )
    tx = tx.with_columns(
        pl.col("_isa_start").cast(pl.Int64).cum_sum().alias("_isa_no"),
        pl.col("_gs_start").cast(pl.Int64).cum_sum().alias("_gs_no"),
    )
    tx = tx.with_columns(
        pl.len().over("_gs_no").alias("_st_in_gs"),
        pl.col("_gs_no").n_unique().over("_isa_no").alias("_gs_in_isa"),
        (pl.int_range(pl.len()).over("_gs_no") + 1).alias("_st_pos"),
        (pl.col("_isa_no") + base_ctrl).cast(pl.String).str.zfill(9).alias("_isa_ctrl"),
        (pl.col("_gs_no") + base_ctrl).cast(pl.String).alias("_gs_ctrl"),
        ((pl.col("_tx") * 7919 + seed) % 1440).alias("_minute"),
    )
    yymmdd = pl.col("remit_date").dt.strftime("%y%m%d")
    hhmm = pl.concat_str(
        (pl.col("_minute") // 60).cast(pl.String).str.zfill(2),
        (pl.col("_minute") % 60).cast(pl.String).str.zfill(2),
    )
    sender = pl.col("payer_id").str.replace_all(r"[^A-Za-z0-9]", "").str.to_uppercase()
    isa = pl.concat_str(
        [
            pl.lit(f"ISA{E}00{E}{' ' * 10}{E}00{E}{' ' * 10}{E}ZZ{E}"),
            _pad(sender, 15),
            pl.lit(f"{E}ZZ{E}"),
            _pad(pl.lit("RCMHOSPITAL"), 15),
            pl.lit(E),
            yymmdd,
            pl.lit(E),
            hhmm,
            pl.lit(f"{E}{R}{E}00501{E}"),
            pl.col("_isa_ctrl"),
            pl.lit(f"{E}0{E}P{E}{C}{T}"),
        ]
    )
    gs = _seg(
        "GS", "HP", sender, pl.lit("RCMHOSPITAL"), _d8(pl.col("remit_date")), hhmm,
        pl.col("_gs_ctrl"), "X", VERSION,
    )  # fmt: skip
    st_ctrl = pl.col("_st_pos").cast(pl.String).str.zfill(4)
    st = _seg("ST", "835", st_ctrl)  # ST03 is "not used" in the 835 TR3
    se = _seg("SE", pl.col("_se_n").cast(pl.String), st_ctrl)
    ge = _seg("GE", pl.col("_st_in_gs").cast(pl.String), pl.col("_gs_ctrl"))
    iea = _seg("IEA", pl.col("_gs_in_isa").cast(pl.String), pl.col("_isa_ctrl"))
    empty = pl.lit("")
    envelope = pl.concat(
        [
            tx.select(
                _key(pl.col("_first"), 0, 0),
                "_tx",
                pl.concat_str(
                    pl.when(pl.col("_isa_start")).then(isa).otherwise(empty),
                    pl.when(pl.col("_gs_start")).then(gs).otherwise(empty),
                    st,
                    pl.col("_hdr"),
                ).alias("txt"),
            ),
            tx.select(
                _key(pl.col("_last"), 0, 0),
                "_tx",
                pl.concat_str(
                    pl.col("plb").fill_null(""),
                    se,
                    pl.when(pl.col("_gs_end")).then(ge).otherwise(empty),
                    pl.when(pl.col("_isa_end")).then(iea).otherwise(empty),
                ).alias("txt"),
            ),
        ]
    )
    ordered = pl.concat([pieces.select("key", "_tx", "txt"), envelope]).sort("key")

    # ---- one string per file, translated to the file's delimiters ------------------------
    file_of_tx = np.full(int(tx["_tx"].max()) + 1, -1, dtype=np.int64)
    file_of_tx[tx["_tx"].to_numpy()] = tx["file_id"].to_numpy()
    file_ids = file_of_tx[ordered["_tx"].to_numpy()]
    starts = np.searchsorted(file_ids, np.arange(files.height + 1))
    txt = ordered["txt"]
    paths: list[Path] = []
    for file_id, remit_date, file_seq, style_no in files.select(
        "file_id", "remit_date", "file_seq", "style"
    ).iter_rows():
        style = DELIMITER_STYLES[style_no]
        a, b = int(starts[file_id]), int(starts[file_id + 1])
        text = txt.slice(a, b - a).str.join("").item()
        data = text.encode("ascii").translate(style.table())
        data = data.replace(T.encode(), (style.terminator + style.line_break).encode())
        path = folder / f"era_{remit_date.isoformat()}_{file_seq:03d}.835"
        path.write_bytes(data)
        paths.append(path)
    return paths
