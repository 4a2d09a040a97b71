"""Remittance tables from the segment stream of a batch (vectorized).

Input: the segments of `segments.segment_frame` split by id (`segments.Parts`) and `txn`,
one row per ST of the batch in stream order (so row i is the transaction with `st_i` = i)
with its trace columns, key prefix and status. Output: the keyed tables (plus file_id and
`_stray_cas`), ready for the balancing checks and `schema.conform`.

Per-transaction, per-claim and per-line values (trace columns, keys) reach the rows below
them by a gather on the dense batch indexes st_i / clp_i / svc_i, not by joins: the keys
of a claim or line are built once and shared by every row under it. Rows of transactions
that are not converted (no SE, not an 835) are dropped at the end, all in one filter; every
lookup and sum stays within its transaction, so that is the same as dropping them first.
"""

from __future__ import annotations

import polars as pl

from rcm.era.schema import MONEY, QTY
from rcm.era.segments import COMP, Parts, el

TRACE = [
    "source_file",
    "file_sha256",
    "interchange_control_number",
    "group_control_number",
    "transaction_control_number",
    "payment_key",
]
_TXN = ["st_i"]
_CLAIM = ["clp_i"]
_LINE = ["svc_i"]


def _value(x: int | pl.Expr) -> pl.Expr:
    return el(x) if isinstance(x, int) else x


def money(x: int | pl.Expr) -> pl.Expr:
    """Element x (or a column) as an amount; null when absent or not a number."""
    return _value(x).cast(MONEY, strict=False)


def qty(x: int | pl.Expr) -> pl.Expr:
    return _value(x).cast(QTY, strict=False)


def date(expr: pl.Expr) -> pl.Expr:
    return expr.str.strptime(pl.Date, "%Y%m%d", strict=False)


def comp(i: int) -> pl.Expr:
    """Element i split on the row's component separator."""
    return el(i).str.split(COMP)


def part(lst: pl.Expr, k: int) -> pl.Expr:
    value = lst.list.get(k, null_on_oob=True)
    return pl.when(value != "").then(value)


def _blank_null(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr != "").then(expr)


def repeat_rows(
    frame: pl.DataFrame, keep: list[str], first: int, width: int, most: int
) -> pl.DataFrame:
    """One row per repeated group of `width` elements starting at element `first` (CAS
    triplets, PLB pairs), at most `most` groups: columns `keep`, `_k` (the 0-based group
    number) and `_g0` .. `_g<width-1>` (the group's elements, empty = null). Rows stay in
    segment order, groups in element order.

    Only the elements from `first` on are exploded (one row each, with its index `_i` in
    that tail); a group starts at every `width`-th element and takes its members from the
    next rows while they belong to the same segment (the index goes on by one). The `keep`
    columns are gathered once, for the group rows only."""
    i = pl.col("_i")
    members = [pl.col("_v").alias("_g0")]
    for m in range(1, width):
        same = i.shift(-m) == i + m
        members.append(pl.when(same).then(pl.col("_v").shift(-m)).alias(f"_g{m}"))
    groups = (
        frame.lazy()
        .select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("_r"),
            pl.col("el").list.slice(first).alias("_v"),
        )
        .with_columns(pl.int_ranges(0, pl.col("_v").list.len(), dtype=pl.Int64).alias("_i"))
        .explode(["_v", "_i"])
        .select("_r", (i // width).alias("_k"), *members, _start=(i % width == 0))
        .filter(pl.col("_start") & (pl.col("_k") < most))
        .select("_r", "_k", *[_blank_null(pl.col(f"_g{m}")) for m in range(width)])
        .collect(engine="in-memory")
    )
    rows = groups.get_column("_r")
    return frame.select(pl.col(keep).gather(rows)).hstack(groups.drop("_r").get_columns())


def first_per(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """First row per key; rows are in file order, so equal keys are adjacent (O(n))."""
    new = pl.lit(False)
    for key in keys:
        new = new | (pl.col(key) != pl.col(key).shift(1)).fill_null(True)
    return frame.filter(new)


_FLAT_KEYS = ["st_i", "clp_i", "svc_i"]


def flat(frame: pl.DataFrame, n: int) -> pl.DataFrame:
    """Elements 1..n of the segments as columns e1..en (read with `f`), plus the keys: a
    narrow frame that is cheap to filter by level, unlike the `el` lists."""
    return frame.select(*_FLAT_KEYS, *[el(i).alias(f"e{i}") for i in range(1, n + 1)])


def f(i: int) -> pl.Expr:
    """Column e<i> of a `flat` frame."""
    return pl.col(f"e{i}")


def _first(frame: pl.DataFrame, keys: list[str], qualifier: str, **cols: pl.Expr) -> pl.DataFrame:
    """First segment per key (of a `flat` frame) whose element 1 equals `qualifier`, with
    the given columns."""
    return first_per(frame.filter(f(1) == qualifier), keys).select(*keys, **cols)


def _gather(values: pl.DataFrame | pl.Series, index: str) -> list[pl.Expr]:
    """Columns of `values` (one row per transaction / claim / line) for every row, by the
    row's batch index column (null index = null)."""
    series = values.get_columns() if isinstance(values, pl.DataFrame) else [values]
    return [pl.lit(s).gather(pl.col(index)).alias(s.name) for s in series]


def _join_all(frame: pl.DataFrame, on: list[str], extras: list[pl.DataFrame]) -> pl.DataFrame:
    """Left join of `frame` with every frame of `extras` on one batch index (`st_i`,
    `clp_i` or `svc_i`), each extra at most one row per index value (null keys never
    match). The index is dense, so a join is a gather: per extra, a lookup array from
    index value to the extra's row, then its rows gathered for the frame's rows."""
    (key,) = on
    keys = frame.get_column(key)
    empty = keys.clear().cast(pl.UInt32)
    size = (keys.max() or 0) + 1
    columns = []
    for extra in extras:
        found = extra.get_column(key)
        if found.null_count():
            extra = extra.filter(pl.col(key).is_not_null())
            found = extra.get_column(key)
        lookup = empty.clear(max(size, (found.max() or 0) + 1))
        lookup.scatter(found, pl.int_range(found.len(), dtype=pl.UInt32, eager=True))
        if lookup.len() - lookup.null_count() != found.len():
            raise RuntimeError(f"more than one row per {key} to join")
        columns.extend(extra.drop(key)[lookup.gather(keys)].get_columns())
    return frame.hstack(columns)


def build(parts: Parts, txn: pl.DataFrame, lx: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The keyed tables of one batch. `txn`: one row per ST (trace columns, `_prefix`,
    `payment_key`, `implementation_version`, `is_envelope_valid`, `is_converted`); `lx`:
    file_id, lx_pos -> lx (LX01)."""
    # loop levels from the batch indexes (null = not inside a claim / line)
    header = pl.col("clp_i").is_null()
    claim_level = pl.col("clp_i").is_not_null() & pl.col("svc_i").is_null()
    line_level = pl.col("svc_i").is_not_null()
    trace = txn.select(TRACE)
    prefix = txn.get_column("_prefix")

    def key(*cols: str) -> pl.Expr:
        return pl.concat_str([pl.lit(prefix).gather(pl.col("st_i")), *cols], separator="-")

    clp_part, svc_part = parts.pop("CLP"), parts.pop("SVC")
    # keys of every claim and line of the batch, indexed by clp_i / svc_i
    claim_keys = clp_part.select(key("seg_pos").alias("claim_key")).to_series()
    line_keys = svc_part.select(key("seg_pos").alias("service_line_key")).to_series()
    claim_key = pl.lit(claim_keys).gather(pl.col("clp_i")).alias("claim_key")
    line_key = pl.lit(line_keys).gather(pl.col("svc_i")).alias("service_line_key")

    # ---- adjustments: every CAS triplet its own row --------------------------------------
    cas = parts.pop("CAS")
    present = pl.col("reason_code").is_not_null() | pl.col("amount_raw").is_not_null()
    triplets = (
        repeat_rows(
            cas.with_columns(el(1).alias("group_code")),
            ["file_id", "seg_pos", "st_i", "clp_i", "svc_i", "group_code"],
            first=2,
            width=3,
            most=6,
        )
        .lazy()
        .rename({"_g0": "reason_code", "_g1": "amount_raw"})
        .filter(present)
        .with_columns(
            (pl.col("_k") + 1).alias("triplet_index"),
            pl.col("amount_raw").cast(MONEY, strict=False).alias("adjustment_amount"),
            pl.col("_g2").cast(QTY, strict=False).alias("adjustment_quantity"),
        )
        .drop("_k", "_g2")
    )
    claim_adj = (
        triplets.filter(claim_level)
        .with_columns(claim_key)
        .with_columns(
            pl.concat_str(["claim_key", "seg_pos", "triplet_index"], separator="-").alias(
                "adjustment_key"
            )
        )
        .collect(engine="in-memory")
    )
    line_adj = (
        triplets.filter(line_level)
        .with_columns(claim_key, line_key)
        .with_columns(
            pl.concat_str(["service_line_key", "seg_pos", "triplet_index"], separator="-").alias(
                "adjustment_key"
            )
        )
        .collect(engine="in-memory")
    )
    stray_cas = cas.filter(header).select("file_id", "seg_pos", "st_i", "clp_i")
    del cas

    # ---- service lines ------------------------------------------------------------------
    svc = svc_part.select(
        "file_id",
        "seg_pos",
        "st_i",
        "clp_i",
        "svc_i",
        comp(1).alias("_p"),
        comp(6).alias("_o"),
        el(2).alias("charge_raw"),
        el(3).alias("paid_raw"),
        money(2).alias("line_charge_amount"),
        money(3).alias("line_paid_amount"),
        el(4).alias("revenue_code"),
        qty(5).alias("units_paid"),
        qty(7).alias("original_units"),
    )
    del svc_part
    svc = svc.with_columns(
        part(pl.col("_p"), 0).alias("procedure_qualifier"),
        part(pl.col("_p"), 1).alias("procedure_code"),
        *[part(pl.col("_p"), 2 + k).alias(f"modifier_{k + 1}") for k in range(4)],
        part(pl.col("_p"), 6).alias("procedure_description"),
        part(pl.col("_o"), 0).alias("original_procedure_qualifier"),
        part(pl.col("_o"), 1).alias("original_procedure_code"),
        part(pl.col("_o"), 2).alias("original_modifier_1"),
        part(pl.col("_o"), 3).alias("original_modifier_2"),
    ).drop("_p", "_o")
    all_dtm, all_amt = flat(parts.pop("DTM"), 2), flat(parts.pop("AMT"), 2)
    line_dtm = all_dtm.filter(line_level)
    line_ref = flat(parts.pop("REF"), 2).filter(line_level)
    line_amt = all_amt.filter(line_level)
    svc = _join_all(
        svc,
        _LINE,
        [
            _first(line_dtm, _LINE, "472", service_date=date(f(2))),
            _first(line_dtm, _LINE, "150", service_start_date=date(f(2))),
            _first(line_dtm, _LINE, "151", service_end_date=date(f(2))),
            _first(line_ref, _LINE, "6R", line_control_number=f(2)),
            _first(line_amt, _LINE, "B6", allowed_amount=money(f(2))),
            line_adj.group_by(_LINE).agg(
                pl.col("adjustment_amount").sum().alias("line_adjustment_amount")
            ),
        ],
    )
    svc = svc.with_columns(
        pl.col("line_adjustment_amount").fill_null(0).cast(MONEY),
        line_keys.alias("service_line_key"),
        claim_key,
    ).with_columns(
        (
            pl.col("line_charge_amount") - pl.col("line_adjustment_amount")
            == pl.col("line_paid_amount")
        ).alias("is_balanced")
    )

    # ---- claims -------------------------------------------------------------------------
    clp = clp_part.select(
        "file_id",
        "seg_pos",
        "st_i",
        "clp_i",
        "lx_pos",
        el(1).alias("patient_control_number"),
        el(2).alias("claim_status_code"),
        el(3).alias("charge_raw"),
        el(4).alias("paid_raw"),
        money(3).alias("total_charge_amount"),
        money(4).alias("paid_amount"),
        money(5).alias("patient_responsibility_amount"),
        el(6).alias("claim_filing_indicator_code"),
        el(7).alias("payer_claim_control_number"),
        el(8).alias("facility_type_code"),
        el(9).alias("claim_frequency_code"),
        el(11).alias("drg_code"),
        qty(12).alias("drg_weight"),
        qty(13).alias("discharge_fraction"),
        (el(2) == "22").fill_null(False).alias("is_reversal"),
    ).with_columns(claim_keys.alias("claim_key"))
    del clp_part
    nm1 = flat(parts.pop("NM1"), 9).filter(claim_level)
    dtm = all_dtm.filter(claim_level)
    amt = all_amt.filter(claim_level)
    mia_part = parts.pop("MIA").filter(claim_level)
    moa_part = parts.pop("MOA").filter(claim_level)
    mia, moa = first_per(mia_part, _CLAIM), first_per(moa_part, _CLAIM)
    clp = _join_all(
        clp,
        _CLAIM,
        [
            _first(
                nm1,
                _CLAIM,
                "QC",
                patient_last_name=f(3),
                patient_first_name=f(4),
                patient_middle_name=f(5),
                patient_id_qualifier=f(8),
                patient_identifier=f(9),
            ),
            _first(
                nm1,
                _CLAIM,
                "IL",
                insured_last_name=f(3),
                insured_first_name=f(4),
                insured_identifier=f(9),
            ),
            _first(nm1, _CLAIM, "74", corrected_insured_identifier=f(9)),
            _first(
                nm1,
                _CLAIM,
                "82",
                rendering_provider_id_qualifier=f(8),
                rendering_provider_identifier=f(9),
            ),
            _first(nm1, _CLAIM, "TT", crossover_carrier_name=f(3)),
            _first(nm1, _CLAIM, "PR", corrected_priority_payer_name=f(3)),
            _first(dtm, _CLAIM, "232", statement_from_date=date(f(2))),
            _first(dtm, _CLAIM, "233", statement_to_date=date(f(2))),
            _first(dtm, _CLAIM, "050", claim_received_date=date(f(2))),
            _first(amt, _CLAIM, "AU", coverage_amount=money(f(2))),
            _first(amt, _CLAIM, "I", interest_amount=money(f(2))),
            _first(amt, _CLAIM, "D8", prompt_pay_discount_amount=money(f(2))),
            _first(amt, _CLAIM, "F5", patient_amount_paid=money(f(2))),
            mia.select(
                *_CLAIM,
                qty(1).alias("mia_covered_days"),
                money(2).alias("mia_pps_operating_outlier_amount"),
                money(4).alias("mia_claim_drg_amount"),
            ),
            moa.select(
                *_CLAIM,
                qty(1).alias("moa_reimbursement_rate"),
                money(2).alias("moa_hcpcs_payable_amount"),
                money(8).alias("moa_esrd_payment_amount"),
            ),
            claim_adj.group_by(_CLAIM).agg(
                pl.col("adjustment_amount").sum().alias("claim_adjustment_amount")
            ),
            svc.group_by(_CLAIM).agg(
                pl.col("line_adjustment_amount").sum().alias("line_adjustment_amount"),
                pl.len().cast(pl.Int64).alias("service_line_count"),
            ),
        ],
    )
    clp = (
        clp.lazy()
        .join(
            lx.lazy().rename({"lx": "header_number"}),
            on=["file_id", "lx_pos"],
            how="left",
            maintain_order="left",
        )
        .with_columns(
            pl.col("claim_adjustment_amount").fill_null(0).cast(MONEY),
            pl.col("line_adjustment_amount").fill_null(0).cast(MONEY),
            pl.col("service_line_count").fill_null(0),
        )
        .with_columns(
            (
                pl.col("total_charge_amount")
                - pl.col("claim_adjustment_amount")
                - pl.col("line_adjustment_amount")
                == pl.col("paid_amount")
            ).alias("is_balanced")
        )
        .collect(engine="in-memory")
    )

    # ---- remarks: LQ (line), MIA / MOA remark codes (claim) ------------------------------
    lq = parts.pop("LQ").select(
        "file_id",
        "seg_pos",
        "st_i",
        "clp_i",
        "svc_i",
        pl.when(line_level).then(pl.lit("line")).otherwise(pl.lit("claim")).alias("level"),
        pl.lit("LQ02").alias("source_element"),
        el(1).alias("code_list_qualifier"),
        el(2).alias("remark_code"),
    )
    coded = [lq]
    for seg_id, frame, positions in (
        ("MIA", mia_part, [5, 20, 21, 22, 23]),
        ("MOA", moa_part, [3, 4, 5, 6, 7]),
    ):
        for i in positions:
            coded.append(
                frame.select(
                    "file_id",
                    "seg_pos",
                    "st_i",
                    "clp_i",
                    "svc_i",
                    pl.lit("claim").alias("level"),
                    pl.lit(f"{seg_id}{i:02d}").alias("source_element"),
                    pl.lit("HE").alias("code_list_qualifier"),
                    el(i).alias("remark_code"),
                )
            )
    # within a segment the pieces above are already in source_element order, so a stable
    # sort on the position gives (file_id, seg_pos, source_element) order
    remarks = (
        pl.concat(coded)
        .lazy()
        .filter(pl.col("remark_code").is_not_null() & pl.col("clp_i").is_not_null())
        .sort("file_id", "seg_pos", maintain_order=True)
        .with_columns(
            claim_key,
            line_key,
            key("seg_pos", "source_element").alias("remark_key"),
        )
        .collect(engine="in-memory")
    )
    del coded, frame, mia_part, moa_part

    # ---- provider adjustments: PLB, one row per reason/amount pair ------------------------
    present = pl.col("adjustment_reason_code").is_not_null() | pl.col("amount_raw").is_not_null()
    plb = parts.pop("PLB")
    pairs = (
        repeat_rows(
            plb.with_columns(el(1).alias("provider_identifier"), el(2).alias("_period")),
            ["file_id", "seg_pos", "st_i", "provider_identifier", "_period"],
            first=3,
            width=2,
            most=6,
        )
        .lazy()
        .with_columns(pl.col("_g0").str.split(COMP).alias("_c"))
        .select(
            "file_id",
            "seg_pos",
            "st_i",
            "provider_identifier",
            date(pl.col("_period")).alias("fiscal_period_date"),
            (pl.col("_k") + 1).alias("pair_index"),
            part(pl.col("_c"), 0).alias("adjustment_reason_code"),
            part(pl.col("_c"), 1).alias("reference_identifier"),
            pl.col("_g1").alias("amount_raw"),
        )
        .filter(present)
        .with_columns(pl.col("amount_raw").cast(MONEY, strict=False).alias("adjustment_amount"))
        .collect(engine="in-memory")
    )

    # ---- payments: one per 835 transaction -----------------------------------------------
    hdr = {name: parts.pop(name).filter(header) for name in ("BPR", "TRN")}
    hdr_dtm = all_dtm.filter(header)
    hdr_n1 = flat(parts.pop("N1"), 4).filter(header)
    pay = parts["ST"].select("file_id", "seg_pos", "st_i")
    bpr = first_per(hdr["BPR"], _TXN)
    trn = first_per(hdr["TRN"], _TXN)
    pay = _join_all(
        pay,
        _TXN,
        [
            bpr.select(
                *_TXN,
                pl.col("seg_pos").alias("bpr_pos"),
                el(1).alias("transaction_handling_code"),
                el(2).alias("bpr_amount_raw"),
                money(2).alias("total_payment_amount"),
                el(3).alias("credit_debit_flag"),
                el(4).alias("payment_method_code"),
                el(5).alias("payment_format_code"),
                date(el(16)).alias("payment_date"),
            ),
            trn.select(
                *_TXN,
                el(1).alias("trace_type_code"),
                el(2).alias("trace_number"),
                el(3).alias("trace_originator_id"),
            ),
            _first(hdr_dtm, _TXN, "405", production_date=date(f(2))),
            _first(
                hdr_n1,
                _TXN,
                "PR",
                payer_name=f(2),
                payer_id_qualifier=f(3),
                payer_identifier=f(4),
            ),
            _first(
                hdr_n1,
                _TXN,
                "PE",
                payee_name=f(2),
                payee_id_qualifier=f(3),
                payee_identifier=f(4),
            ),
            clp.group_by(_TXN).agg(
                pl.len().cast(pl.Int64).alias("claim_count"),
                pl.col("paid_amount").sum().alias("claim_paid_amount"),
            ),
            pairs.group_by(_TXN).agg(
                pl.col("adjustment_amount").sum().alias("provider_adjustment_amount")
            ),
        ],
    )
    sign = pl.when(pl.col("credit_debit_flag") == "D").then(-1).otherwise(1)
    pay = pay.with_columns(
        *_gather(txn.select("implementation_version", "is_envelope_valid"), "st_i"),
        pl.coalesce("payer_identifier", "payer_name").alias("payer_id"),
        pl.when(pl.col("payee_id_qualifier") == "XX")
        .then(pl.col("payee_identifier"))
        .alias("payee_npi"),
        pl.coalesce("payment_date", "production_date").alias("remittance_date"),
        pl.col("claim_count").fill_null(0),
        pl.col("claim_paid_amount").fill_null(0).cast(MONEY),
        pl.col("provider_adjustment_amount").fill_null(0).cast(MONEY),
    ).with_columns(
        (
            (pl.col("claim_paid_amount") - pl.col("provider_adjustment_amount")).cast(MONEY)
            == (pl.col("total_payment_amount") * sign).cast(MONEY)
        ).alias("is_balanced")
    )

    out = {
        "payments": pay,
        "claims": clp,
        "claim_adjustments": claim_adj,
        "service_lines": svc,
        "line_adjustments": line_adj,
        "remarks": remarks,
        "provider_adjustments": pairs,
        "_stray_cas": stray_cas.with_columns(claim_key),
    }
    # drop the rows of transactions that are not converted (none in a clean batch)
    converted = txn.get_column("is_converted")
    keep = None if converted.all() else pl.lit(converted).gather(pl.col("st_i")).fill_null(False)
    result = {}
    for name, frame in out.items():
        lazy = frame.lazy()
        if keep is not None:
            lazy = lazy.filter(keep)
        lazy = lazy.with_columns(_gather(trace, "st_i")).rename({"seg_pos": "segment_position"})
        if name == "provider_adjustments":
            lazy = lazy.with_columns(
                pl.concat_str(
                    ["payment_key", "segment_position", "pair_index"], separator="-"
                ).alias("provider_adjustment_key")
            )
        result[name] = lazy.collect(engine="in-memory")
    return result
