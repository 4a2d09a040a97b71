"""Remittance tables from the segment stream of complete 835 transactions (vectorized).

Input: the segments of `segments.segment_frame` split by id (`segments.Parts`), already
restricted to 835 transactions that have their SE. Output: raw tables keyed by (file_id,
positions); string keys and file columns are added by `parse._finish` once the file
metadata is joined.
"""

from __future__ import annotations

import polars as pl

from rcm.era.schema import MONEY, QTY
from rcm.era.segments import COMP, Parts, el

BASE = [
    "file_id", "seg_pos", "isa_pos", "gs_pos", "st_pos", "lx_pos", "clp_pos", "svc_pos",
    "tk", "ck", "sk",
]  # fmt: skip
_TXN = ["tk"]
_CLAIM = ["ck"]
_LINE = ["sk"]


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


def repeat_rows(frame: pl.DataFrame, first: int, width: int, most: int) -> pl.DataFrame:
    """One row per repeated group of `width` elements starting at element `first` (CAS
    triplets, PLB pairs), at most `most` groups; `_k` is the 0-based group number. Rows
    stay in segment order, groups in element order (explode keeps both)."""
    groups = ((pl.col("el").list.len() - first + width - 1) // width).clip(0, most)
    return frame.with_columns(pl.int_ranges(0, groups, dtype=pl.Int64).alias("_k")).explode("_k")


def first_per(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """First row per key; rows are in file order, so equal keys are adjacent (O(n))."""
    new = pl.lit(False)
    for key in keys:
        new = new | (pl.col(key) != pl.col(key).shift(1)).fill_null(True)
    return frame.filter(new)


_FLAT_KEYS = ["clp_pos", "svc_pos", "tk", "ck", "sk"]


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


def build(parts: Parts) -> dict[str, pl.DataFrame]:
    header = pl.col("clp_pos") == 0
    claim_level = (pl.col("clp_pos") > 0) & (pl.col("svc_pos") == 0)
    line_level = pl.col("svc_pos") > 0

    # ---- adjustments: every CAS triplet its own row --------------------------------------
    cas = parts["CAS"]
    present = pl.col("reason_code").is_not_null() | pl.col("amount_raw").is_not_null()
    k = pl.col("_k")
    triplets = (
        repeat_rows(cas.select(*BASE, "el"), first=2, width=3, most=6)
        .select(
            *BASE,
            (k + 1).alias("triplet_index"),
            el(1).alias("group_code"),
            el(2 + 3 * k).alias("reason_code"),
            el(3 + 3 * k).alias("amount_raw"),
            el(4 + 3 * k).cast(QTY, strict=False).alias("adjustment_quantity"),
        )
        .filter(present)
        .with_columns(pl.col("amount_raw").cast(MONEY, strict=False).alias("adjustment_amount"))
    )
    claim_adj = triplets.filter(claim_level)
    line_adj = triplets.filter(line_level)
    stray_cas = cas.filter(header).select(*BASE)

    # ---- service lines ------------------------------------------------------------------
    svc = parts["SVC"].select(
        *BASE,
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
    all_dtm, all_amt = flat(parts["DTM"], 2), flat(parts["AMT"], 2)
    line_dtm = all_dtm.filter(line_level)
    line_ref = flat(parts["REF"], 2).filter(line_level)
    line_amt = all_amt.filter(line_level)
    for extra in (
        _first(line_dtm, _LINE, "472", service_date=date(f(2))),
        _first(line_dtm, _LINE, "150", service_start_date=date(f(2))),
        _first(line_dtm, _LINE, "151", service_end_date=date(f(2))),
        _first(line_ref, _LINE, "6R", line_control_number=f(2)),
        _first(line_amt, _LINE, "B6", allowed_amount=money(f(2))),
        line_adj.group_by(_LINE).agg(
            pl.col("adjustment_amount").sum().alias("line_adjustment_amount")
        ),
    ):
        svc = svc.join(extra, on=_LINE, how="left", maintain_order="left")
    svc = svc.with_columns(pl.col("line_adjustment_amount").fill_null(0).cast(MONEY)).with_columns(
        (
            pl.col("line_charge_amount") - pl.col("line_adjustment_amount")
            == pl.col("line_paid_amount")
        ).alias("is_balanced")
    )

    # ---- claims -------------------------------------------------------------------------
    clp = parts["CLP"].select(
        *BASE,
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
    )
    nm1 = flat(parts["NM1"], 9).filter(claim_level)
    dtm = all_dtm.filter(claim_level)
    amt = all_amt.filter(claim_level)
    mia = first_per(parts["MIA"].filter(claim_level), _CLAIM)
    moa = first_per(parts["MOA"].filter(claim_level), _CLAIM)
    for extra in (
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
    ):
        clp = clp.join(extra, on=_CLAIM, how="left", maintain_order="left")
    clp = clp.with_columns(
        pl.col("claim_adjustment_amount").fill_null(0).cast(MONEY),
        pl.col("line_adjustment_amount").fill_null(0).cast(MONEY),
        pl.col("service_line_count").fill_null(0),
    ).with_columns(
        (
            pl.col("total_charge_amount")
            - pl.col("claim_adjustment_amount")
            - pl.col("line_adjustment_amount")
            == pl.col("paid_amount")
        ).alias("is_balanced")
    )

    # ---- remarks: LQ (line), MIA / MOA remark codes (claim) ------------------------------
    lq = parts["LQ"].select(
        *BASE,
        pl.when(pl.col("svc_pos") > 0)
        .then(pl.lit("line"))
        .otherwise(pl.lit("claim"))
        .alias("level"),
        pl.lit("LQ02").alias("source_element"),
        el(1).alias("code_list_qualifier"),
        el(2).alias("remark_code"),
    )
    coded = [lq]
    for seg_id, frame, positions in (
        ("MIA", parts["MIA"].filter(claim_level), [5, 20, 21, 22, 23]),
        ("MOA", parts["MOA"].filter(claim_level), [3, 4, 5, 6, 7]),
    ):
        for i in positions:
            coded.append(
                frame.select(
                    *BASE,
                    pl.lit("claim").alias("level"),
                    pl.lit(f"{seg_id}{i:02d}").alias("source_element"),
                    pl.lit("HE").alias("code_list_qualifier"),
                    el(i).alias("remark_code"),
                )
            )
    remarks = (
        pl.concat(coded)
        .filter(pl.col("remark_code").is_not_null() & (pl.col("clp_pos") > 0))
        .sort("file_id", "seg_pos", "source_element")
    )

    # ---- provider adjustments: PLB, one row per reason/amount pair ------------------------
    present = pl.col("adjustment_reason_code").is_not_null() | pl.col("amount_raw").is_not_null()
    pairs = (
        repeat_rows(parts["PLB"], first=3, width=2, most=6)
        .with_columns(el(3 + 2 * k).str.split(COMP).alias("_c"))
        .select(
            *BASE,
            el(1).alias("provider_identifier"),
            date(el(2)).alias("fiscal_period_date"),
            (k + 1).alias("pair_index"),
            part(pl.col("_c"), 0).alias("adjustment_reason_code"),
            part(pl.col("_c"), 1).alias("reference_identifier"),
            el(4 + 2 * k).alias("amount_raw"),
        )
        .filter(present)
        .with_columns(pl.col("amount_raw").cast(MONEY, strict=False).alias("adjustment_amount"))
    )

    # ---- payments: one per 835 transaction -----------------------------------------------
    hdr = {name: parts[name].filter(header) for name in ("BPR", "TRN")}
    hdr_dtm = all_dtm.filter(header)
    hdr_n1 = flat(parts["N1"], 4).filter(header)
    pay = parts["ST"].select(*BASE)
    bpr = first_per(hdr["BPR"], _TXN)
    trn = first_per(hdr["TRN"], _TXN)
    for extra in (
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
    ):
        pay = pay.join(extra, on=_TXN, how="left", maintain_order="left")
    sign = pl.when(pl.col("credit_debit_flag") == "D").then(-1).otherwise(1)
    pay = pay.with_columns(
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

    return {
        "payments": pay,
        "claims": clp,
        "claim_adjustments": claim_adj,
        "service_lines": svc,
        "line_adjustments": line_adj,
        "remarks": remarks,
        "provider_adjustments": pairs,
        "_stray_cas": stray_cas,
    }
