"""Expected mart rows computed from the generator's injected labels (never from the warehouse SQL).

Every function reads the latest version of each encounter (newest updated_at), as the
warehouse does, and the charge lines as written. Money is Int64 cents; rates are ratios of
sums (null when the denominator is 0). Definitions follow shared/domain.md Part A.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import polars as pl

from rcm.generate.clinical import Clinical
from rcm.reference import read_reference

GAP_TYPES = (
    "unsupported_charge",
    "missed_charge",
    "unsigned_note",
    "missing_element",
    "late_charge",
)
_GAP_COLUMNS = {
    "month": pl.Date,
    "facility_id": pl.String,
    "department_id": pl.String,
    "gap_type": pl.String,
    "encounters_affected": pl.Int64,
    "charge_lines": pl.Int64,
    "dollars_at_risk_cents": pl.Int64,
}


def _month(column: str) -> pl.Expr:
    """First day of the month of a date or timestamp column."""
    expr = pl.col(column)
    return expr.cast(pl.Date).dt.truncate("1mo").alias("month")


def _ratio(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) != 0).then(pl.col(num) / pl.col(den))


def coding_accuracy_truth(clinical: Clinical) -> pl.DataFrame:
    """marts.coding_accuracy: month (of coded_at) x facility_id x coder_id.

    Columns: month, facility_id, coder_id, encounters_coded, encounters_accurate, codes_billed
    (|B|), codes_invalid (|B \\ V|), codes_unsupported (|B \\ D|), codes_missed (|D \\ B|),
    codes_correct (|B ∩ D ∩ V|), codes_compared (|B ∪ D|), encounter_accuracy_rate,
    code_accuracy_rate. Per encounter, from the labels: documented codes are valid and
    distinct; a missed dx / missed px is in D only; an unsupported dx / unsupported px line is
    in B only; an invalid header code is in B only (unsupported, invalid) and its documented
    child in D only (missed).
    """
    one = pl.lit(1, pl.Int64)
    zero = pl.lit(0, pl.Int64)

    def flag(column: str) -> pl.Expr:
        return pl.when(pl.col(column).is_not_null()).then(one).otherwise(zero)

    per_encounter = (
        clinical.latest_encounters()
        .filter(pl.col("coded_at").is_not_null())
        .select(
            _month("coded_at"),
            "facility_id",
            "coder_id",
            (
                pl.col("documented_dx_codes").list.len().fill_null(0)
                + pl.col("documented_px_codes").list.len().fill_null(0)
            )
            .cast(pl.Int64)
            .alias("n_doc"),
            (flag("_missed_dx_code") + flag("_invalid_dx_code") + flag("_missed_px_code")).alias(
                "missed"
            ),
            (
                flag("_unsupported_dx_code")
                + flag("_invalid_dx_code")
                + flag("_unsupported_px_code")
            ).alias("unsupported"),
            flag("_invalid_dx_code").alias("invalid"),
        )
        .with_columns(
            (pl.col("n_doc") - pl.col("missed") + pl.col("unsupported")).alias("billed"),
            (pl.col("n_doc") - pl.col("missed")).alias("correct"),
            (pl.col("n_doc") + pl.col("unsupported")).alias("compared"),
            ((pl.col("missed") + pl.col("unsupported") + pl.col("invalid")) == 0).alias("accurate"),
        )
    )
    return (
        per_encounter.group_by("month", "facility_id", "coder_id")
        .agg(
            pl.len().cast(pl.Int64).alias("encounters_coded"),
            pl.col("accurate").sum().cast(pl.Int64).alias("encounters_accurate"),
            pl.col("billed").sum().alias("codes_billed"),
            pl.col("invalid").sum().alias("codes_invalid"),
            pl.col("unsupported").sum().alias("codes_unsupported"),
            pl.col("missed").sum().alias("codes_missed"),
            pl.col("correct").sum().alias("codes_correct"),
            pl.col("compared").sum().alias("codes_compared"),
        )
        .with_columns(
            _ratio("encounters_accurate", "encounters_coded").alias("encounter_accuracy_rate"),
            _ratio("codes_correct", "codes_compared").alias("code_accuracy_rate"),
        )
        .sort("month", "facility_id", "coder_id")
    )


def median_unit_charges(charges: pl.DataFrame) -> pl.DataFrame:
    """facility_id, hcpcs_code, unit_charge_cents: the median of charge_amount / units over the
    facility's lines of that code with charge_amount > 0 and units > 0 (all written lines),
    rounded half to even to the cent."""
    keys = ["facility_id", "hcpcs_code"]
    # unit charges repeat (price x units / units), so take the median over value counts
    counts = (
        charges.filter(
            (pl.col("charge_amount") > 0)
            & (pl.col("units") > 0)
            & pl.col("hcpcs_code").is_not_null()
        )
        .group_by(*keys, (pl.col("charge_amount") / pl.col("units")).alias("unit"))
        .agg(pl.len().cast(pl.Int64).alias("w"))
        .sort(*keys, "unit")
        .with_columns(
            pl.col("w").cum_sum().over(keys).alias("cum"),
            pl.col("w").sum().over(keys).alias("n"),
        )
    )
    lower = pl.col("unit").filter(pl.col("cum") > (pl.col("n") - 1) // 2).first()
    upper = pl.col("unit").filter(pl.col("cum") > pl.col("n") // 2).first()
    return (
        counts.group_by(keys, maintain_order=True)
        .agg(((lower + upper) / 2).alias("unit"))
        .select(
            *keys,
            pl.col("unit").round(0, mode="half_to_even").cast(pl.Int64).alias("unit_charge_cents"),
        )
    )


def documentation_gaps_truth(clinical: Clinical, bill_hold_days: int | None = None) -> pl.DataFrame:
    """marts.documentation_gaps: month x facility_id x department_id x gap_type.

    Columns: month (of the encounter's discharge_date, else admit_date), facility_id,
    department_id (the line's for unsupported_charge / late_charge, the encounter's otherwise),
    gap_type, encounters_affected (distinct encounters), charge_lines (1 per line-level gap, the
    encounter's written lines for unsigned_note / missing_element, 0 for missed_charge),
    dollars_at_risk_cents (charge_amount of the line; the encounter's total charges; for
    missed_charge the median positive unit charge of the code at the facility over all written
    lines, as `median_unit_charges` computes it; from the label, since every positive line of an
    item at a facility bills its price there; the sum ignores nulls and is null when every
    occurrence is null).
    Only groups with at least one gap are returned. `bill_hold_days` must equal the generator's
    (the late labels were injected against it).
    """
    hold = clinical.config.bill_hold_days if bill_hold_days is None else bill_hold_days
    if hold != clinical.config.bill_hold_days:
        raise ValueError(
            f"late-charge labels were injected for a {clinical.config.bill_hold_days}-day "
            f"bill hold, not {hold}"
        )
    enc = clinical.latest_encounters().with_columns(
        pl.coalesce("discharge_date", "admit_date").dt.truncate("1mo").alias("month")
    )
    charges = clinical.charges
    line_gaps = (
        charges.filter(pl.col("_line_kind").is_in(["unsupported", "late"]))
        .join(enc.select("encounter_id", "month"), on="encounter_id", how="left")
        .select(
            "month",
            "facility_id",
            "department_id",
            pl.when(pl.col("_line_kind") == "late")
            .then(pl.lit("late_charge"))
            .otherwise(pl.lit("unsupported_charge"))
            .alias("gap_type"),
            "encounter_id",
            pl.lit(1, pl.Int64).alias("charge_lines"),
            pl.col("charge_amount").alias("dollars"),
        )
    )
    enc_level = enc.filter(pl.col("_unsigned_note") | pl.col("_missing_element"))
    totals = (
        charges.filter(pl.col("encounter_id").is_in(enc_level["encounter_id"].implode()))
        .group_by("encounter_id")
        .agg(pl.len().cast(pl.Int64).alias("lines"), pl.col("charge_amount").sum().alias("total"))
    )
    enc_level = enc_level.join(totals, on="encounter_id", how="left").with_columns(
        pl.col("lines").fill_null(0), pl.col("total").fill_null(0)
    )
    encounter_gaps = [
        enc_level.filter(pl.col(label)).select(
            "month",
            "facility_id",
            "department_id",
            pl.lit(gap).alias("gap_type"),
            "encounter_id",
            pl.col("lines").alias("charge_lines"),
            pl.col("total").alias("dollars"),
        )
        for label, gap in (
            ("_unsigned_note", "unsigned_note"),
            ("_missing_element", "missing_element"),
        )
    ]
    missed = enc.filter(pl.col("_missed_px_code").is_not_null()).select(
        "month",
        "facility_id",
        "department_id",
        pl.lit("missed_charge").alias("gap_type"),
        "encounter_id",
        pl.lit(0, pl.Int64).alias("charge_lines"),
        pl.col("_missed_px_unit_charge_cents").alias("dollars"),
    )
    occurrences = pl.concat([line_gaps, *encounter_gaps, missed], how="vertical_relaxed")
    return (
        occurrences.group_by("month", "facility_id", "department_id", "gap_type")
        .agg(
            pl.col("encounter_id").n_unique().cast(pl.Int64).alias("encounters_affected"),
            pl.col("charge_lines").sum().cast(pl.Int64).alias("charge_lines"),
            pl.when(pl.col("dollars").is_not_null().any())
            .then(pl.col("dollars").sum())
            .cast(pl.Int64)
            .alias("dollars_at_risk_cents"),
        )
        .select(list(_GAP_COLUMNS))
        .cast(_GAP_COLUMNS)
        .sort("month", "facility_id", "department_id", "gap_type")
    )


def _ratio_micro(column: str) -> pl.Expr:
    """A decimal ratio as integer millionths (the seed has at most 6 decimals)."""
    return (pl.col(column).cast(pl.Float64) * 1_000_000).round(0).cast(pl.Int64)


def line_costs(
    charges: pl.DataFrame,
    cost_to_charge_ratios: pl.DataFrame | None = None,
    revenue_code_families: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """charges plus `cost_cents`: cost_amount when given, else charge_amount x the facility's
    ratio for the line's revenue-code family (first three digits of revenue_code, seed
    `revenue_code_families`), falling back to the facility's hospital-wide row
    (revenue_code_family '*'). The product is exact decimal arithmetic rounded half away from
    zero to the cent, per line."""
    ccr = cost_to_charge_ratios
    if ccr is None:
        ccr = read_reference("cost_to_charge_ratios.csv")
    families = revenue_code_families
    if families is None:
        families = read_reference("revenue_code_families.csv")
    ccr = ccr.select(
        "facility_id", "revenue_code_family", _ratio_micro("cost_to_charge_ratio").alias("m")
    )
    specific = ccr.filter(pl.col("revenue_code_family") != "*")
    fallback = ccr.filter(pl.col("revenue_code_family") == "*").select(
        "facility_id", pl.col("m").alias("m_all")
    )
    pairs = (
        charges.select("facility_id", "revenue_code")
        .unique()
        .with_columns(pl.col("revenue_code").str.slice(0, 3).alias("_prefix"))
        .join(
            families.select(pl.col("revenue_code_prefix").alias("_prefix"), "revenue_code_family"),
            on="_prefix",
            how="left",
        )
        .join(specific, on=["facility_id", "revenue_code_family"], how="left")
        .join(fallback, on="facility_id", how="left")
        .select("facility_id", "revenue_code", pl.coalesce("m", "m_all").alias("_m"))
    )
    out = charges.join(pairs, on=["facility_id", "revenue_code"], how="left", maintain_order="left")
    product = pl.col("charge_amount").abs() * pl.col("_m")
    estimated = pl.col("charge_amount").sign() * ((product + 500_000) // 1_000_000)
    return out.with_columns(
        pl.coalesce(pl.col("cost_amount"), estimated).cast(pl.Int64).alias("cost_cents")
    ).drop("_m")


def allocate_payments(charges: pl.DataFrame, claim_net_paid: pl.DataFrame) -> pl.DataFrame:
    """charges plus `payments_cents`: the claim's net paid split over all its written charge
    lines in proportion to charge_amount. Each share is net_paid x charge / claim charges
    rounded half away from zero to the cent; the rounding residual goes to the claim's line
    with the largest charge_amount (ties: smallest charge_id), so shares sum to net paid.
    Lines of claims with no remittance get 0."""
    net = claim_net_paid.group_by("claim_id").agg(pl.col("net_paid_cents").sum().cast(pl.Int64))
    n_lines = charges.height
    codes = (
        pl.concat([charges["claim_id"], net["claim_id"]]).rank("dense").cast(pl.Int64).to_numpy()
        - 1
    )
    code, net_code = codes[:n_lines], codes[n_lines:]
    k = int(codes.max()) + 1 if codes.size else 0
    charge = charges["charge_amount"].to_numpy().astype(np.int64)
    # float64 sums of integer cents are exact far beyond any claim total
    total = np.rint(np.bincount(code, weights=charge.astype(np.float64), minlength=k)).astype(
        np.int64
    )
    net_by = np.zeros(k, dtype=np.int64)
    net_by[net_code] = net["net_paid_cents"].to_numpy()
    num = net_by[code] * charge
    den = total[code]
    safe = np.where(den == 0, 1, np.abs(den))
    share = np.where(
        den != 0, np.sign(num) * np.sign(den) * ((np.abs(num) * 2 + safe) // (2 * safe)), 0
    )
    residual = net_by - np.rint(
        np.bincount(code, weights=share.astype(np.float64), minlength=k)
    ).astype(np.int64)
    # the line taking the residual: largest charge_amount, ties the smallest charge_id
    largest = np.full(k, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(largest, code, charge)
    candidates = np.flatnonzero(charge == largest[code])
    id_rank = charges["charge_id"].gather(candidates).rank("ordinal").to_numpy()
    order = candidates[np.lexsort((id_rank, code[candidates]))]
    first = np.r_[True, code[order][1:] != code[order][:-1]] if order.size else order.astype(bool)
    top = order[first]
    payments = share.copy()
    payments[top] += residual[code[top]]
    return charges.with_columns(pl.Series("payments_cents", payments, dtype=pl.Int64))


def cost_burden_truth(
    clinical: Clinical,
    claim_net_paid: pl.DataFrame,
    cost_to_charge_ratios: pl.DataFrame | None = None,
    revenue_code_families: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """marts.facility_cost_burden: month (of service_date) x facility_id x department_id (the
    line's) x cost_category, over all written charge lines.

    `claim_net_paid`: claim_id, net_paid_cents (CLP04 over all remittances in the window).
    Columns: month, facility_id, department_id, cost_category, encounters (distinct),
    charges_cents, cost_cents (`line_costs`), payments_cents (`allocate_payments`),
    margin_cents (= payments - cost), cost_to_charge_ratio, cost_to_payment_ratio.
    """
    lines = allocate_payments(
        line_costs(clinical.charges, cost_to_charge_ratios, revenue_code_families), claim_net_paid
    )
    return (
        lines.group_by(_month("service_date"), "facility_id", "department_id", "cost_category")
        .agg(
            pl.col("encounter_id").n_unique().cast(pl.Int64).alias("encounters"),
            pl.col("charge_amount").sum().alias("charges_cents"),
            pl.col("cost_cents").sum().alias("cost_cents"),
            pl.col("payments_cents").sum().alias("payments_cents"),
        )
        .with_columns(
            (pl.col("payments_cents") - pl.col("cost_cents")).alias("margin_cents"),
            _ratio("cost_cents", "charges_cents").alias("cost_to_charge_ratio"),
            _ratio("cost_cents", "payments_cents").alias("cost_to_payment_ratio"),
        )
        .sort("month", "facility_id", "department_id", "cost_category")
    )


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.with_columns(pl.col(pl.Date).dt.strftime("%Y-%m-%d")).to_dicts()


def _config_dict(config: Any) -> Any:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: _jsonable(getattr(config, f.name)) for f in dataclasses.fields(config)}
    return _jsonable(config)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def build_truth(
    *,
    world: Any,
    clinical: Clinical,
    remittances: Any,
    remit_config: Any,
    parameters: dict[str, Any],
) -> dict[str, Any]:
    """truth.json content: run parameters, both configs, injected-rate realisations and the
    expected rows of every mart (money in cents, dates ISO)."""
    latest = clinical.latest_encounters()
    charges = clinical.charges
    kinds = dict(charges.group_by("_line_kind").len().iter_rows())
    truth: dict[str, Any] = {
        "parameters": parameters,
        "clinical_config": clinical.config.as_dict(),
        "remit_config": _config_dict(remit_config),
        "money_unit": "cents",
        "totals": {
            "encounters": latest.height,
            "encounter_rows": clinical.encounter_versions.height,
            "encounters_coded": latest["coded_at"].is_not_null().sum(),
            "encounters_final_billed": latest["final_billed_at"].is_not_null().sum(),
            "encounters_still_admitted": latest["discharge_date"].is_null().sum(),
            "charge_lines": charges.height,
            "charge_lines_by_kind": {k: kinds.get(k, 0) for k in sorted(kinds)},
            "charges_cents": charges["charge_amount"].sum(),
            "claims": clinical.claims.height,
            "claim_charges_cents": clinical.claims["total_charge_cents"].sum(),
        },
        "coders": _rows(world.coders) if hasattr(world, "coders") else [],
        "coding_accuracy": _rows(coding_accuracy_truth(clinical)),
        "documentation_gaps": _rows(
            documentation_gaps_truth(clinical, clinical.config.bill_hold_days)
        ),
        "facility_cost_burden": _rows(
            cost_burden_truth(
                clinical,
                remittances.claim_net_paid,
                getattr(world, "cost_to_charge_ratios", None),
                getattr(world, "revenue_code_families", None),
            )
        ),
    }
    for name in ("denial_rates", "denials_by_reason"):
        frame = getattr(remittances, name, None)
        if isinstance(frame, pl.DataFrame):
            truth[name] = _rows(frame)
    return truth
