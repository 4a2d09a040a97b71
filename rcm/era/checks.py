"""Checks that turn problems into findings instead of crashes.

- `transactions`: ST/SE pairing, SE01 segment count, SE02 control number, non-835 sets
  (vectorized over the batch's segment stream);
- `envelopes`: GS/GE and ISA/IEA pairing, counts and control numbers (a small Python pass
  over the envelope segments only, collected over all batches of a file);
- `balancing`: line, claim and transaction balancing plus unreadable amounts (vectorized
  over the keyed tables).

Reasons are one line and never quote names, member ids or patient control numbers.
"""

from __future__ import annotations

import polars as pl

from rcm.era.segments import CODES, Parts, el

ENVELOPE_IDS = ["ISA", "IEA", "GS", "GE", "ST"]
_OUTSIDE_OK = ["ISA", "IEA", "GS", "GE"]

FINDING_COLUMNS = {
    "file_id": pl.Int64,
    "interchange_control_number": pl.String,
    "group_control_number": pl.String,
    "transaction_control_number": pl.String,
    "segment_position": pl.Int64,
    "check": pl.String,
    "severity": pl.String,
    "reason": pl.String,
    "payment_key": pl.String,
    "claim_key": pl.String,
}


def _finding(frame: pl.DataFrame, check: str, severity: str, reason: pl.Expr) -> pl.DataFrame:
    names = set(frame.columns)
    cols = []
    for name, dtype in FINDING_COLUMNS.items():
        if name == "check":
            cols.append(pl.lit(check).alias(name))
        elif name == "severity":
            cols.append(pl.lit(severity).alias(name))
        elif name == "reason":
            cols.append(reason.alias(name))
        elif name in names:
            cols.append(pl.col(name).cast(dtype))
        else:
            cols.append(pl.lit(None, dtype).alias(name))
    return frame.select(cols)


def empty_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDING_COLUMNS)


def transactions(
    segs: pl.DataFrame, parts: Parts, lk: dict[str, pl.DataFrame]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Status per transaction (file_id, st_pos, is_complete, is_835, is_envelope_valid)
    and the transaction-level findings."""
    st = (
        parts["ST"]
        .select("file_id", "st_pos", "isa_pos", "gs_pos", pl.col("row_nr").alias("st_row"))
        .join(lk["st"], on=["file_id", "st_pos"], how="left", maintain_order="left")
        .join(lk["isa"], on=["file_id", "isa_pos"], how="left", maintain_order="left")
        .join(lk["gs"], on=["file_id", "gs_pos"], how="left", maintain_order="left")
        .rename(
            {
                "isa_ctrl": "interchange_control_number",
                "gs_ctrl": "group_control_number",
                "st_ctrl": "transaction_control_number",
            }
        )
    )
    se = (
        parts["SE"]
        .filter(pl.col("st_pos") > 0)
        .unique(subset=["file_id", "st_pos"], keep="first", maintain_order=True)
    ).select(
        "file_id",
        "st_pos",
        pl.col("seg_pos").alias("se_pos"),
        pl.col("row_nr").alias("se_row"),
        el(1).alias("se01"),
        el(2).alias("se02"),
    )
    status = (
        st.join(se, on=["file_id", "st_pos"], how="left", maintain_order="left")
        .with_columns((pl.col("se_row") - pl.col("st_row") + 1).alias("n_segments"))
        .with_columns(
            pl.col("se_pos").is_not_null().alias("is_complete"),
            (pl.col("st_set") == "835").alias("is_835"),
            (
                pl.col("se02").fill_null("") == pl.col("transaction_control_number").fill_null("")
            ).alias("ctrl_ok"),
            (pl.col("se01").cast(pl.Int64, strict=False) == pl.col("n_segments"))
            .fill_null(False)
            .alias("count_ok"),
        )
        .with_columns(
            (pl.col("is_complete") & pl.col("ctrl_ok") & pl.col("count_ok")).alias(
                "is_envelope_valid"
            ),
            pl.col("st_pos").alias("segment_position"),
        )
    )
    txn = pl.format(
        "transaction ST02={} (ST at segment {})",
        pl.col("transaction_control_number").fill_null("?"),
        pl.col("st_pos"),
    )
    findings = [
        _finding(
            status.filter(~pl.col("is_835")),
            "transaction",
            "warning",
            pl.format(
                "{} is transaction set {}, not an 835; skipped",
                txn,
                pl.col("st_set").fill_null("?"),
            ),
        ),
        _finding(
            status.filter(pl.col("is_835") & ~pl.col("is_complete")),
            "envelope",
            "error",
            pl.format("{} has no SE segment (truncated file?); not converted", txn),
        ),
        _finding(
            status.filter(pl.col("is_835") & pl.col("is_complete") & ~pl.col("ctrl_ok")),
            "envelope",
            "error",
            pl.format("{}: SE02={} does not match ST02", txn, pl.col("se02").fill_null("?")),
        ),
        _finding(
            status.filter(pl.col("is_835") & pl.col("is_complete") & ~pl.col("count_ok")),
            "envelope",
            "error",
            pl.format(
                "{}: SE01={} but the transaction has {} segments",
                txn,
                pl.col("se01").fill_null("?"),
                pl.col("n_segments"),
            ),
        ),
    ]
    outside = (
        segs.lazy()
        .filter((pl.col("st_pos") == 0) & ~pl.col("code").is_in([CODES[i] for i in _OUTSIDE_OK]))
        .group_by("file_id")
        .agg(pl.len().alias("n"), pl.col("seg_pos").min().alias("segment_position"))
        .collect(engine="in-memory")
    )
    findings.append(
        _finding(
            outside,
            "envelope",
            "warning",
            pl.format("{} segment(s) outside any ST..SE transaction were ignored", pl.col("n")),
        )
    )
    keep = status.select(
        "file_id", "st_pos", "isa_pos", "gs_pos", "is_complete", "is_835", "is_envelope_valid"
    )
    return keep, pl.concat(findings)


def envelope_rows(parts: Parts, lk: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The few segments the interchange/group checks need (kept across batches; `envelopes`
    sorts them by position)."""
    return (
        pl.concat(
            [
                parts[seg_id].select(
                    "file_id",
                    "seg_pos",
                    pl.lit(seg_id).alias("seg_id"),
                    el(1).alias("e1"),
                    el(2).alias("e2"),
                    "isa_pos",
                    "gs_pos",
                )
                for seg_id in ENVELOPE_IDS
            ]
        )
        .join(lk["isa"], on=["file_id", "isa_pos"], how="left", maintain_order="left")
        .join(
            lk["gs"].select("file_id", "gs_pos", "gs_ctrl"),
            on=["file_id", "gs_pos"],
            how="left",
            maintain_order="left",
        )
        .select("file_id", "seg_pos", "seg_id", "e1", "e2", "isa_ctrl", "gs_ctrl")
    )


def envelopes(rows: pl.DataFrame) -> pl.DataFrame:
    """GS/GE and ISA/IEA pairing, counts and control numbers for whole files."""
    out: list[dict] = []

    def add(file_id, pos, isa, gs, reason, severity="error"):
        out.append(
            {
                "file_id": file_id,
                "segment_position": pos,
                "interchange_control_number": isa,
                "group_control_number": gs,
                "check": "envelope",
                "severity": severity,
                "reason": reason,
            }
        )

    def no_ge(file_id, isa_ctrl, gs, note="") -> None:
        add(file_id, gs[2], isa_ctrl, gs[0], f"functional group GS06={gs[0]} has no GE{note}")

    def no_iea(file_id, isa, note="") -> None:
        add(file_id, isa[2], isa[0], None, f"interchange ISA13={isa[0]} has no IEA{note}")

    def close(file_id, isa, gs) -> None:
        """The checks at the end of a file: a group or interchange still open."""
        if gs is not None:
            no_ge(file_id, isa and isa[0], gs, " (truncated file?)")
        if isa is not None:
            no_iea(file_id, isa, " (truncated file?)")

    # one pass over the rows of all files, sorted by file and position: a new file closes
    # the previous one
    rows = rows.sort("file_id", "seg_pos")
    current = isa = gs = None  # isa, gs: [control, count, position]
    for file_id, seg_id, pos, e1, e2, isa_ctrl, gs_ctrl in rows.select(
        "file_id", "seg_id", "seg_pos", "e1", "e2", "isa_ctrl", "gs_ctrl"
    ).iter_rows():
        if file_id != current:
            if current is not None:
                close(current, isa, gs)
            current, isa, gs = file_id, None, None
        if seg_id == "ISA":
            if gs is not None:
                no_ge(file_id, isa and isa[0], gs)
                gs = None
            if isa is not None:
                no_iea(file_id, isa)
            isa = [isa_ctrl, 0, pos]
        elif seg_id == "GS":
            if gs is not None:
                no_ge(file_id, isa_ctrl, gs)
            if isa is not None:
                isa[1] += 1
            gs = [gs_ctrl, 0, pos]
        elif seg_id == "ST":
            if gs is None:
                add(file_id, pos, isa_ctrl, None, "ST outside a functional group", "warning")
            else:
                gs[1] += 1
        elif seg_id == "GE":
            if gs is None:
                add(file_id, pos, isa_ctrl, None, "GE without a matching GS")
                continue
            if (e2 or "") != (gs[0] or ""):
                add(file_id, pos, isa_ctrl, gs[0], f"GE02={e2} does not match GS06={gs[0]}")
            if _int(e1) != gs[1]:
                add(
                    file_id,
                    pos,
                    isa_ctrl,
                    gs[0],
                    f"GE01={e1} but the functional group has {gs[1]} transaction(s)",
                )
            gs = None
        elif seg_id == "IEA":
            if gs is not None:
                no_ge(file_id, isa_ctrl, gs)
                gs = None
            if isa is None:
                add(file_id, pos, None, None, "IEA without a matching ISA")
                continue
            if (e2 or "").strip() != isa[0]:
                add(file_id, pos, isa[0], None, f"IEA02={e2} does not match ISA13={isa[0]}")
            if _int(e1) != isa[1]:
                add(
                    file_id,
                    pos,
                    isa[0],
                    None,
                    f"IEA01={e1} but the interchange has {isa[1]} functional group(s)",
                )
            isa = None
    if current is not None:
        close(current, isa, gs)
    if not out:
        return empty_findings()
    return pl.DataFrame(out, schema_overrides=FINDING_COLUMNS).select(
        [
            pl.col(n).cast(t) if n in out[0] else pl.lit(None, t).alias(n)
            for n, t in FINDING_COLUMNS.items()
        ]
    )


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def balancing(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Balancing and unreadable amounts over keyed tables (before conforming)."""
    pay, clp, svc = tables["payments"], tables["claims"], tables["service_lines"]
    found = []

    def amount_check(frame: pl.DataFrame, raw: str, parsed: str, element: str) -> None:
        bad = frame.filter(pl.col(raw).is_not_null() & pl.col(parsed).is_null())
        if bad.height:
            found.append(
                _finding(
                    bad,
                    "amount",
                    "error",
                    pl.format(
                        "{} at segment {} is not a valid amount",
                        pl.lit(element),
                        pl.col("segment_position"),
                    ),
                )
            )

    amount_check(pay, "bpr_amount_raw", "total_payment_amount", "BPR02")
    amount_check(clp, "charge_raw", "total_charge_amount", "CLP03")
    amount_check(clp, "paid_raw", "paid_amount", "CLP04")
    amount_check(svc, "charge_raw", "line_charge_amount", "SVC02")
    amount_check(svc, "paid_raw", "line_paid_amount", "SVC03")
    for name in ("claim_adjustments", "line_adjustments", "provider_adjustments"):
        frame = tables[name]
        amount_check(frame, "amount_raw", "adjustment_amount", "adjustment amount")

    found.append(
        _finding(
            svc.filter(pl.col("is_balanced").not_()),
            "balance_line",
            "error",
            pl.format(
                "service line at segment {} does not balance: charge {} - adjustments {}"
                " != paid {}",
                "segment_position",
                "line_charge_amount",
                "line_adjustment_amount",
                "line_paid_amount",
            ),
        )
    )
    found.append(
        _finding(
            clp.filter(pl.col("is_balanced").not_()),
            "balance_claim",
            "error",
            pl.format(
                "claim at segment {} does not balance: charge {} - claim adjustments {}"
                " - line adjustments {} != paid {}",
                "segment_position",
                "total_charge_amount",
                "claim_adjustment_amount",
                "line_adjustment_amount",
                "paid_amount",
            ),
        )
    )
    found.append(
        _finding(
            pay.filter(pl.col("bpr_pos").is_null()),
            "transaction",
            "error",
            pl.lit("transaction has no BPR segment (no payment amount to balance against)"),
        )
    )
    found.append(
        _finding(
            pay.filter(pl.col("is_balanced").not_()),
            "balance_transaction",
            "error",
            pl.format(
                "payment does not balance: claims paid {} - provider adjustments {}"
                " != BPR02 {} ({})",
                "claim_paid_amount",
                "provider_adjustment_amount",
                "total_payment_amount",
                pl.col("credit_debit_flag").fill_null("C"),
            ),
        )
    )
    stray = tables["_stray_cas"]
    found.append(
        _finding(
            stray,
            "structure",
            "warning",
            pl.format("CAS at segment {} is outside any claim; ignored", "segment_position"),
        )
    )
    return pl.concat(found)
