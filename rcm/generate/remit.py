"""Payer adjudication of the synthetic claims: the remittance half of `rcm generate`.

`simulate_remittances` turns the clinical side's `claims` / `claim_lines` frames into 835
content (one row per CLP, per SVC, per CAS triplet, per PLB adjustment) plus the truth the
generator injected: net paid per claim and the denial marts at their contract grain
(docs/generator-design.md, shared domain.md Part A). Everything is vectorized with polars
and numpy; the only Python loops run over payers.

Money is integer cents throughout. Label columns (never written to the 835) start with `_`.

Adjudication model, per claim (payer from payers.csv):
- first remittance date = billed_date + payer remit lag x jitter, moved off weekends;
- allowed = charge x paid_to_charge_ratio x jitter; CO-45 for the rest; patient share
  (PR-1 deductible, PR-2 coinsurance, PR-3 copay) = allowed x patient_share_ratio x jitter;
  Medicare sequestration CO-253 at claim level;
- injected denials at per-payer rates: full (claim-level CAS on the whole charge, or every
  line denied) and partial (some lines denied, or a claim-level denial portion), with 1..6
  denial CARCs per adjustment, RARC remarks (LQ*HE, MOA/MIA);
- later remittances: overturned denials (a fully denied claim paid after appeal) and
  reversals (CLP02 = 22, negated copy of the original) with a corrected re-adjudication in
  the same remittance;
- PLB provider-level adjustments per transaction (WO recovery, L6 interest, FB forwarding
  balance; a transaction that would pay a negative total forwards the balance with FB).

Nothing dated after the window's last day is produced: those claims are still in A/R.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from rcm.errors import RcmError
from rcm.npi import npi_check_digit
from rcm.reference import read_reference

FIRST_ADJUDICATION_STATUSES = ("1", "2", "3", "4", "19", "20", "21")

# CLP06 codes accepted by the 835 (837-only codes are mapped onto the nearest 835 code).
_CLP06_VALID = {
    "12", "13", "14", "15", "16", "17", "AM", "CH", "DS", "HM", "LM", "MA", "MB", "MC",
    "OF", "TV", "VA", "WC", "ZZ",
}  # fmt: skip
_CLP06_MAP = {"CI": "12", "BL": "12", "11": "ZZ", "09": "ZZ", "10": "ZZ", "FI": "OF"}
_TEXT_UNSAFE = r"[*|!:>^~'\\\x1c-\x1f\r\n]"

_ROLE_ORDER = {"initial": 0, "overturn": 1, "reversal": 2, "correction": 3}


@dataclass(frozen=True)
class RemitConfig:
    """Adjudication defaults. Rates are fractions of first adjudications per payer."""

    full_denial_rate: float = 0.05
    partial_denial_rate: float = 0.06
    # multiplier of both rates by payers.csv payer_type (missing type = 1.0)
    payer_type_denial_multiplier: Mapping[str, float] = field(
        default_factory=lambda: {
            "medicare": 0.8,
            "medicare_advantage": 1.4,
            "medicaid": 1.3,
            "commercial": 1.0,
            "managed_care": 1.2,
            "tricare": 0.9,
            "workers_comp": 1.2,
        }
    )
    payer_rate_jitter: float = 0.25  # each payer's rates x U(1 - j, 1 + j), by seed
    # when payers.csv has initial_denial_rate: that rate is used, split full / partial
    full_share_of_stated_rate: float = 0.45
    # explicit (full, partial) rates by payer_id, overriding the above
    payer_denial_rates: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    # (carc, weight): claim-level denials of a whole claim
    claim_denial_carcs: tuple[tuple[str, float], ...] = (
        ("50", 5), ("197", 5), ("16", 6), ("29", 2), ("27", 2), ("22", 2), ("B7", 1),
        ("252", 2), ("18", 2), ("31", 1), ("109", 1), ("96", 2), ("167", 1), ("204", 1),
    )  # fmt: skip
    # (carc, weight): line-level denials and claim-level denial portions
    line_denial_carcs: tuple[tuple[str, float], ...] = (
        ("97", 6), ("50", 4), ("151", 3), ("16", 3), ("234", 2), ("96", 2), ("B12", 1),
        ("181", 1), ("11", 1), ("4", 1), ("198", 1), ("119", 1), ("150", 1),
    )  # fmt: skip
    denial_group_weights: tuple[tuple[str, float], ...] = (("CO", 0.86), ("PI", 0.09), ("OA", 0.05))
    # probability of 1..6 CARC triplets on one denial adjustment
    denial_triplet_probs: tuple[float, ...] = (0.55, 0.2, 0.1, 0.07, 0.05, 0.03)
    full_denial_line_level_share: float = 0.35  # full denials expressed on every line
    partial_portion_share: float = 0.3  # partial denials as a claim-level portion
    status_4_share: float = 0.15  # full denials sent with CLP02 = 4
    status_19_share: float = 0.25  # Medicare / Medicaid claims "processed, forwarded"
    remark_rate: float = 0.8  # denied lines with an LQ*HE remark
    moa_rate: float = 0.5  # outpatient claims with MOA
    subscriber_not_patient_rate: float = 0.3  # NM1*IL differs from NM1*QC
    lag_jitter: tuple[float, float] = (0.6, 1.6)
    allowed_jitter: tuple[float, float] = (0.85, 1.15)
    patient_share_jitter: tuple[float, float] = (0.0, 2.0)
    max_patient_share: float = 0.9
    sequestration_rate: float = 0.02  # CO-253 for payer_type medicare
    overturn_rate: float = 0.3  # full denials later paid on appeal
    appeal_lag_days: tuple[int, int] = (21, 75)
    reversal_rate: float = 0.02  # clean paid claims later reversed and re-adjudicated
    reversal_lag_days: tuple[int, int] = (10, 45)
    correction_ratio_jitter: tuple[float, float] = (0.9, 1.12)
    plb_interest_rate: float = 0.12  # transactions with L6 interest (negative PLB)
    plb_recovery_rate: float = 0.08  # transactions with a WO overpayment recovery
    plb_forward_rate: float = 0.04  # transactions with an FB forwarding balance
    name_only_payer_share: float = 0.3  # payers sending N1*PR without N103/N104


@dataclass(frozen=True)
class ReferenceFrames:
    """The parts of the generator's World that adjudication reads."""

    payers: pl.DataFrame
    facilities: pl.DataFrame


@dataclass(frozen=True)
class Remittances:
    """835 content and injected truth.

    Frames (cents are Int64; `_` columns are labels, never written):
    - transactions: one per ST..SE: transaction_id, remit_date, payer_id, payer_key (N104 or
      N102 as the 835 shows it), payer_name, payer_id_qualified (bool: N103/N104 sent),
      payer_address1, payer_city, payer_state, payer_zip, payer_phone, payer_tin,
      facility_id, payee_name, payee_npi, payee_tin, payee_address1, payee_city,
      payee_state, payee_zip, trace_number, payment_method, paid_cents (sum CLP04),
      plb_cents (sum PLB), bpr_cents (= paid - plb).
    - claims: one per CLP: adj_id, transaction_id, claim_id, status_code, charge_cents,
      paid_cents, patient_resp_cents, filing_indicator, payer_claim_number,
      facility_type_code, frequency_code, drg_code, statement_from, statement_to,
      received_date, covered_days, patient_last, patient_first, patient_middle, member_id,
      subscriber_first (null when the patient is the subscriber), moa_remarks,
      mia_remark, has_lines, remit_date, payer_id, payer_key, facility_id,
      _role (initial/overturn/reversal/correction), _denial_kind (none/full/partial).
    - lines: one per SVC: adj_id, line_number, charge_id, service_date, revenue_code,
      hcpcs_code, modifiers, units, charge_cents, paid_cents, allowed_cents, remark_code,
      _denied.
    - adjustments: one per CAS triplet (unordered): adj_id, line_number (null = claim level),
      group_code, carc_code, amount_cents, seq, _is_denial.
    - provider_adjustments: one per PLB pair: transaction_id, seq, reason_code, reference,
      amount_cents.
    - claim_net_paid: claim_id, remittances, net_paid_cents (sum CLP04 in the window).
    - denial_rates: month (of the first adjudication's BPR16) x facility_id (the claim's) x
      payer_id (N104, else N102): claims_remitted, claims_denied, claims_denied_full
      (CLP04 = 0), claims_denied_partial, charges_remitted_cents, charges_denied_cents
      (CLP03), claims_overturned (denied, later paid > 0 in a non-reversal CLP in the
      window), initial_denial_rate, denial_rate_dollars.
    - denials_by_reason: month x payer_id x carc_group x carc_code x denial_category:
      lines_denied (CAS triplets), dollars_denied_cents; first adjudications only.
    - payer_rates: payer_id, payer_key, full_denial_rate, partial_denial_rate (injected).
    """

    start_date: dt.date
    end_date: dt.date
    seed: int
    transactions: pl.DataFrame
    claims: pl.DataFrame
    lines: pl.DataFrame
    adjustments: pl.DataFrame
    provider_adjustments: pl.DataFrame
    claim_net_paid: pl.DataFrame
    denial_rates: pl.DataFrame
    denials_by_reason: pl.DataFrame
    payer_rates: pl.DataFrame


# ----------------------------------------------------------------------------------------------
# helpers


def _reference(world: Any) -> ReferenceFrames:
    if isinstance(world, ReferenceFrames):
        return world
    if isinstance(world, Mapping):
        payers, facilities = world.get("payers"), world.get("facilities")
    else:
        payers, facilities = getattr(world, "payers", None), getattr(world, "facilities", None)
    if payers is None:
        payers = read_reference("payers.csv")
    if facilities is None:
        facilities = read_reference("facilities.csv")
    return ReferenceFrames(payers=payers, facilities=facilities)


def _sanitize(expr: pl.Expr) -> pl.Expr:
    """Text safe for any delimiter set the writer may choose (upper-case, no delimiters)."""
    return expr.cast(pl.String).str.replace_all(_TEXT_UNSAFE, " ").str.strip_chars()


def _weekday_shift(expr: pl.Expr) -> pl.Expr:
    """Move Saturday/Sunday payment dates to Monday."""
    wd = expr.dt.weekday()
    return expr + pl.duration(days=pl.when(wd == 6).then(2).when(wd == 7).then(1).otherwise(0))


def _digits(values: np.ndarray, width: int) -> pl.Series:
    return pl.Series(values.astype(np.int64)).cast(pl.String).str.zfill(width)


def _denial_catalogue() -> pl.DataFrame:
    """CARC seed rows marked is_denial: group_code ('*' = any), carc_code, denial_category."""
    seed = read_reference("carc_categories.csv")
    return seed.filter(pl.col("is_denial").str.to_lowercase() == "true").select(
        "group_code", "carc_code", "denial_category"
    )


def _category_lookup(adj: pl.DataFrame) -> pl.DataFrame:
    """Attach denial_category from the seed (specific group first, then '*')."""
    seed = read_reference("carc_categories.csv").select(
        "group_code",
        "carc_code",
        "denial_category",
        (pl.col("is_denial").str.to_lowercase() == "true").alias("_seed_denial"),
    )
    exact = seed.filter(pl.col("group_code") != "*")
    wild = seed.filter(pl.col("group_code") == "*").drop("group_code")
    out = adj.join(exact, on=["group_code", "carc_code"], how="left")
    out = out.join(wild, on="carc_code", how="left", suffix="_w")
    return out.with_columns(
        pl.coalesce("denial_category", "denial_category_w").alias("denial_category"),
        pl.coalesce("_seed_denial", "_seed_denial_w").fill_null(False).alias("_seed_denial"),
    ).drop("denial_category_w", "_seed_denial_w")


def _check_carcs(config: RemitConfig) -> None:
    cat = _denial_catalogue()
    denial = set(cat["carc_code"].to_list())
    for carc, _ in config.claim_denial_carcs + config.line_denial_carcs:
        if carc not in denial:
            raise RcmError(f"remit config: CARC {carc} is not a denial in carc_categories.csv")


_REMARKS = {
    "16": "MA130", "50": "N130", "97": "M15", "151": "N362", "234": "N19", "96": "N130",
    "B12": "M127", "181": "M80", "11": "N56", "4": "N10", "198": "N54", "119": "N362",
    "150": "N115", "197": "N54", "29": "N211", "27": "N30", "22": "MA04", "B7": "N290",
    "252": "M127", "18": "N111", "31": "N30", "109": "N479", "167": "N386", "204": "N130",
}  # fmt: skip

_LAST = (
    "SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRIGUEZ MARTINEZ HERNANDEZ LOPEZ "
    "GONZALEZ WILSON ANDERSON THOMAS TAYLOR MOORE JACKSON MARTIN LEE PEREZ THOMPSON WHITE HARRIS "
    "SANCHEZ CLARK RAMIREZ LEWIS ROBINSON WALKER YOUNG ALLEN KING WRIGHT SCOTT TORRES NGUYEN HILL "
    "FLORES GREEN ADAMS NELSON BAKER HALL RIVERA CAMPBELL MITCHELL CARTER ROBERTS GOMEZ PHILLIPS "
    "EVANS TURNER DIAZ PARKER CRUZ EDWARDS COLLINS REYES STEWART MORRIS MORALES MURPHY COOK ROGERS "
    "GUTIERREZ ORTIZ MORGAN COOPER PETERSON BAILEY REED KELLY HOWARD RAMOS KIM COX WARD RICHARDSON "
    "WATSON BROOKS CHAVEZ WOOD JAMES BENNETT GRAY MENDOZA RUIZ HUGHES PRICE ALVAREZ CASTILLO "
    "SANDERS PATEL MYERS LONG ROSS FOSTER JIMENEZ O-BRIEN"
).split()
_FIRST = (
    "JAMES MARY ROBERT PATRICIA JOHN JENNIFER MICHAEL LINDA DAVID ELIZABETH WILLIAM BARBARA "
    "RICHARD SUSAN JOSEPH JESSICA THOMAS SARAH CHARLES KAREN CHRISTOPHER LISA DANIEL NANCY MATTHEW "
    "BETTY ANTHONY MARGARET MARK SANDRA DONALD ASHLEY STEVEN KIMBERLY PAUL EMILY ANDREW DONNA "
    "JOSHUA MICHELLE KENNETH CAROL KEVIN AMANDA BRIAN DOROTHY GEORGE MELISSA TIMOTHY DEBORAH "
    "RONALD STEPHANIE EDWARD REBECCA JASON SHARON JEFFREY LAURA RYAN CYNTHIA JACOB KATHLEEN GARY "
    "AMY NICHOLAS ANGELA ERIC SHIRLEY JONATHAN ANNA STEPHEN BRENDA LARRY PAMELA JUSTIN EMMA SCOTT "
    "NICOLE BRANDON HELEN BENJAMIN SAMANTHA SAMUEL KATHERINE GREGORY CHRISTINE ALEXANDER DEBRA "
    "FRANK RACHEL PATRICK CAROLYN RAYMOND JANET JACK CATHERINE DENNIS MARIA JERRY HEATHER"
).split()
_CITIES = (
    ("ATLANTA", "GA", "30301"), ("DALLAS", "TX", "75201"), ("CHICAGO", "IL", "60601"),
    ("COLUMBUS", "OH", "43215"), ("DENVER", "CO", "80202"), ("PHOENIX", "AZ", "85001"),
    ("NASHVILLE", "TN", "37201"), ("RICHMOND", "VA", "23219"), ("HARTFORD", "CT", "06103"),
    ("MINNEAPOLIS", "MN", "55401"), ("SEATTLE", "WA", "98101"), ("ST LOUIS", "MO", "63101"),
)  # fmt: skip


def _weighted(rng: np.random.Generator, n: int, weights: tuple[float, ...]) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


# ----------------------------------------------------------------------------------------------
# reference preparation


def _prepare_payers(payers: pl.DataFrame, config: RemitConfig, seed: int) -> pl.DataFrame:
    need = {"payer_id", "payer_name", "paid_to_charge_ratio", "remit_lag_days"}
    missing = need - set(payers.columns)
    if missing:
        raise RcmError(f"payers frame lacks columns: {', '.join(sorted(missing))}")
    p = payers.with_columns(
        pl.col("payer_id").cast(pl.String),
        pl.col("paid_to_charge_ratio").cast(pl.Float64),
        pl.col("remit_lag_days").cast(pl.Float64),
    )
    defaults: dict[str, pl.Expr] = {
        "payer_type": pl.lit("commercial"),
        "claim_filing_indicator": pl.lit("12"),
        "patient_share_ratio": pl.lit(0.1),
        "emits_835": pl.lit(True),
    }
    p = p.with_columns(v.alias(k) for k, v in defaults.items() if k not in p.columns)
    emits = pl.col("emits_835")
    if p.schema["emits_835"] != pl.Boolean:
        emits = emits.cast(pl.String).str.to_lowercase().is_in(["true", "1", "yes", "t", "y"])
    fi = pl.col("claim_filing_indicator").cast(pl.String).str.strip_chars().str.to_uppercase()
    p = p.with_columns(
        emits.alias("emits_835"),
        pl.col("payer_type").cast(pl.String).str.to_lowercase(),
        pl.col("patient_share_ratio").cast(pl.Float64).fill_null(0.1),
        pl.when(fi.is_in(list(_CLP06_VALID)))
        .then(fi)
        .otherwise(fi.replace_strict(_CLP06_MAP, default="ZZ"))
        .alias("clp06"),
        _sanitize(pl.col("payer_name").str.to_uppercase()).str.slice(0, 60).alias("payer_name"),
    ).sort("payer_id")
    n = p.height
    rng = np.random.default_rng([seed, 8351])
    jitter = rng.uniform(1 - config.payer_rate_jitter, 1 + config.payer_rate_jitter, n)
    mult = np.array(
        [config.payer_type_denial_multiplier.get(t, 1.0) for t in p["payer_type"].to_list()]
    )
    full = config.full_denial_rate * mult * jitter
    partial = config.partial_denial_rate * mult * jitter
    if "initial_denial_rate" in p.columns:  # payers.csv states each payer's total rate
        stated = p["initial_denial_rate"].cast(pl.Float64).to_numpy()
        known = ~np.isnan(stated)
        full = np.where(known, stated * config.full_share_of_stated_rate, full)
        partial = np.where(known, stated * (1 - config.full_share_of_stated_rate), partial)
    for i, pid in enumerate(p["payer_id"].to_list()):
        if pid in config.payer_denial_rates:
            full[i], partial[i] = config.payer_denial_rates[pid]
    # which payers send N1*PR without an id (analysts then key on the name)
    name_only = rng.uniform(size=n) < config.name_only_payer_share
    if n >= 2:
        name_only[0], name_only[1] = False, True
    city = rng.integers(0, len(_CITIES), n)
    tin = rng.integers(100_000_000, 999_999_999, n)
    p = p.with_columns(
        pl.Series("full_denial_rate", np.clip(full, 0, 1)),
        pl.Series("partial_denial_rate", np.clip(partial, 0, 1)),
        pl.Series("payer_id_qualified", ~name_only),
        pl.concat_str(pl.lit("PO BOX "), _digits(rng.integers(1000, 99999, n), 4)).alias(
            "payer_address1"
        ),
        pl.Series("payer_city", [_CITIES[i][0] for i in city]),
        pl.Series("payer_state", [_CITIES[i][1] for i in city]),
        pl.Series("payer_zip", [_CITIES[i][2] for i in city]),
        pl.concat_str(pl.lit("800"), _digits(rng.integers(0, 9_999_999, n), 7)).alias(
            "payer_phone"
        ),
        _digits(tin, 9).alias("payer_tin"),
        pl.Series("payment_method", np.where(rng.uniform(size=n) < 0.75, "ACH", "CHK")),
    )
    ident = (
        pl.coalesce(pl.col("payer_identifier").cast(pl.String), pl.col("payer_id"))
        if "payer_identifier" in p.columns
        else pl.col("payer_id")
    )
    return p.with_columns(
        pl.when(pl.col("payer_id_qualified"))
        .then(_sanitize(ident))
        .otherwise(pl.col("payer_name"))
        .alias("payer_key")
    )


def _prepare_facilities(facilities: pl.DataFrame, facility_ids: list[str], seed: int):
    rng = np.random.default_rng([seed, 8352])
    f = facilities.with_columns(pl.col("facility_id").cast(pl.String))
    remitted = pl.DataFrame({"facility_id": facility_ids}, schema={"facility_id": pl.String})
    f = f.join(remitted, on="facility_id", how="full", coalesce=True)
    f = f.sort("facility_id")
    n = f.height
    base = rng.integers(100_000_000, 199_999_999, n)
    synthetic_npi = [f"{b}{npi_check_digit(str(b))}" for b in base]  # loop over facilities only
    cols = f.columns
    name = next((pl.col(x) for x in ("facility_name", "name") if x in cols), pl.col("facility_id"))
    npi = pl.col("npi").cast(pl.String) if "npi" in cols else pl.lit(None, pl.String)
    tin_src = next((c for c in ("tin", "tax_id", "ein") if c in cols), None)
    tin = (
        pl.col(tin_src).cast(pl.String).str.replace_all(r"\D", "")
        if tin_src
        else pl.lit(None, pl.String)
    )
    city = rng.integers(0, len(_CITIES), n)

    def _opt(col: str, fallback: pl.Series) -> pl.Expr:
        return pl.coalesce(pl.col(col).cast(pl.String), fallback) if col in cols else fallback

    return f.select(
        "facility_id",
        _sanitize(pl.coalesce(name, pl.col("facility_id")).str.to_uppercase())
        .str.slice(0, 60)
        .alias("payee_name"),
        pl.coalesce(npi, pl.Series(synthetic_npi)).alias("payee_npi"),
        pl.coalesce(tin, _digits(rng.integers(100_000_000, 999_999_999, n), 9)).alias("payee_tin"),
        _sanitize(
            _opt("address", pl.concat_str(_digits(rng.integers(1, 9999, n), 1), pl.lit(" MAIN ST")))
        ).alias("payee_address1"),
        _sanitize(_opt("city", pl.Series([_CITIES[i][0] for i in city])).str.to_uppercase()).alias(
            "payee_city"
        ),
        _sanitize(_opt("state", pl.Series([_CITIES[i][1] for i in city])).str.to_uppercase()).alias(
            "payee_state"
        ),
        _sanitize(_opt("zip", pl.Series([_CITIES[i][2] for i in city]))).alias("payee_zip"),
    )


# ----------------------------------------------------------------------------------------------
# adjudication


def _split_amounts(
    frame: pl.DataFrame,
    total: str,
    k: str,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Explode rows into k triplets whose amounts sum exactly to `total` (first takes rest)."""
    ex = frame.with_columns(pl.int_ranges(0, pl.col(k)).alias("_t")).explode("_t")
    w = rng.uniform(0.2, 1.0, ex.height)
    ex = ex.with_columns(pl.Series("_w", w))
    ex = ex.with_columns((pl.col("_w") / pl.col("_w").sum().over("_row")).alias("_w"))
    ex = ex.with_columns((pl.col(total) * pl.col("_w")).floor().cast(pl.Int64).alias("_amt"))
    rest = pl.col(total) - pl.col("_amt").sum().over("_row")
    return ex.with_columns(
        pl.when(pl.col("_t") == 0).then(pl.col("_amt") + rest).otherwise(pl.col("_amt"))
    )


def _denial_triplets(
    rows: pl.DataFrame, amount: str, carcs: tuple[tuple[str, float], ...], rng, config
) -> pl.DataFrame:
    """Denial CAS triplets for `rows` (needs adj_id, line_number, `amount`), one group each."""
    if rows.height == 0:
        return _empty_adjustments()
    n = rows.height
    k = 1 + _weighted(rng, n, config.denial_triplet_probs)
    first = _weighted(rng, n, tuple(w for _, w in carcs))
    groups = [g for g, _ in config.denial_group_weights]
    group = np.array(groups)[_weighted(rng, n, tuple(w for _, w in config.denial_group_weights))]
    base = rows.select("adj_id", "line_number", amount).with_columns(
        pl.Series("_k", np.minimum(k, 6)),
        pl.Series("_first", first),
        pl.Series("group_code", group),
        pl.int_range(0, n).alias("_row"),
    )
    # no more triplets than cents to spread
    base = base.with_columns(pl.min_horizontal("_k", pl.col(amount).abs().clip(1)).alias("_k"))
    ex = _split_amounts(base, amount, "_k", rng)
    mapping = {i: c for i, (c, _) in enumerate(carcs)}
    idx = (pl.col("_first") + pl.col("_t")) % len(carcs)
    return ex.select(
        "adj_id",
        pl.col("line_number").cast(pl.Int32),
        "group_code",
        idx.replace_strict(mapping, return_dtype=pl.String).alias("carc_code"),
        pl.col("_amt").cast(pl.Int64).alias("amount_cents"),
        (10 + pl.col("_t")).cast(pl.Int32).alias("seq"),
        pl.lit(True).alias("_is_denial"),
    )


_ADJ_SCHEMA = {
    "adj_id": pl.Int64,
    "line_number": pl.Int32,
    "group_code": pl.String,
    "carc_code": pl.String,
    "amount_cents": pl.Int64,
    "seq": pl.Int32,
    "_is_denial": pl.Boolean,
}


def _empty_adjustments() -> pl.DataFrame:
    return pl.DataFrame(schema=_ADJ_SCHEMA)


def _contract_triplets(frame: pl.DataFrame, line_level: bool) -> pl.DataFrame:
    """CO-45 / PR-1/2/3 / CO-253 triplets from columns co45, pr1, pr2, pr3, seq253."""
    parts = []
    for group, carc, col, seq in (
        ("CO", "45", "co45", 1),
        ("CO", "253", "seq253", 2),
        ("PR", "1", "pr1", 3),
        ("PR", "2", "pr2", 4),
        ("PR", "3", "pr3", 5),
    ):
        if col not in frame.columns:
            continue
        parts.append(
            frame.filter(pl.col(col) != 0).select(
                "adj_id",
                (pl.col("line_number") if line_level else pl.lit(None))
                .cast(pl.Int32)
                .alias("line_number"),
                pl.lit(group).alias("group_code"),
                pl.lit(carc).alias("carc_code"),
                pl.col(col).cast(pl.Int64).alias("amount_cents"),
                pl.lit(seq, pl.Int32).alias("seq"),
                pl.lit(False).alias("_is_denial"),
            )
        )
    return pl.concat(parts) if parts else _empty_adjustments()


def _patient_share(frame: pl.DataFrame, allowed: str) -> pl.DataFrame:
    pr = (pl.col(allowed) * pl.col("_share")).floor().cast(pl.Int64)
    frame = frame.with_columns(pr.alias("_pr"))
    pr1 = (pl.col("_pr") * pl.col("_w1")).floor().cast(pl.Int64)
    pr3 = (pl.col("_pr") * pl.col("_w3")).floor().cast(pl.Int64)
    return frame.with_columns(pr1.alias("pr1"), pr3.alias("pr3")).with_columns(
        (pl.col("_pr") - pl.col("pr1") - pl.col("pr3")).alias("pr2")
    )


def simulate_remittances(
    world: Any,
    claims: pl.DataFrame,
    claim_lines: pl.DataFrame,
    seed: int,
    start_date: dt.date,
    days: int,
    config: RemitConfig | None = None,
) -> Remittances:
    """Adjudicate `claims` / `claim_lines` (generator-design.md schemas) into 835 content.

    `world` is anything with `payers` and `facilities` frames (the generator's World, a
    ReferenceFrames, or a mapping); when absent the shipped payers.csv / facilities.csv are
    read. Deterministic for a given seed and input (row order does not matter).
    """
    config = config or RemitConfig()
    _check_carcs(config)
    end_date = start_date + dt.timedelta(days=days - 1)
    ref = _reference(world)
    payers = _prepare_payers(ref.payers, config, seed)
    rng = np.random.default_rng([seed, 835])

    # ---- claims to adjudicate ------------------------------------------------------------
    lines_in = claim_lines.select(
        pl.col("claim_id").cast(pl.String),
        pl.col("line_number").cast(pl.Int32),
        pl.col("charge_id").cast(pl.String),
        pl.col("service_date").cast(pl.Date),
        pl.col("revenue_code").cast(pl.String),
        pl.col("hcpcs_code").cast(pl.String),
        pl.col("modifiers").cast(pl.List(pl.String)),
        pl.col("units").cast(pl.Int64),
        pl.col("charge_cents").cast(pl.Int64),
    ).filter(pl.col("charge_cents") > 0)
    line_totals = lines_in.group_by("claim_id").agg(
        pl.col("charge_cents").sum().alias("_line_charge"), pl.len().alias("n_lines")
    )
    c = (
        claims.with_columns(
            pl.col("claim_id").cast(pl.String),
            pl.col("payer_id").cast(pl.String),
            pl.col("facility_id").cast(pl.String),
            pl.col("total_charge_cents").cast(pl.Int64),
        )
        .join(payers.filter(pl.col("emits_835")), on="payer_id", how="inner", maintain_order="left")
        .join(line_totals, on="claim_id", how="left", maintain_order="left")
        .with_columns(pl.col("n_lines").fill_null(0))
    )
    drg = pl.col("drg_code").is_not_null() if "drg_code" in c.columns else pl.lit(False)
    c = c.with_columns(
        (drg.not_() & (pl.col("n_lines") > 0)).alias("has_lines"),
    ).with_columns(
        pl.when(pl.col("has_lines"))
        .then(pl.col("_line_charge"))
        .otherwise(pl.col("total_charge_cents"))
        .alias("charge_cents")
    )
    for frame, col in ((c, "claim_id"), (lines_in, "charge_id"), (lines_in, "hcpcs_code")):
        if frame[col].str.contains(_TEXT_UNSAFE).any():
            raise RcmError(f"{col} values contain X12 delimiter characters; cannot write 835s")
    c = c.filter((pl.col("charge_cents") > 0) & pl.col("billed_date").is_not_null())
    c = c.sort("claim_id")
    n = c.height

    # ---- per-claim draws ----------------------------------------------------------------
    lag = np.maximum(
        2, np.rint(c["remit_lag_days"].to_numpy() * rng.uniform(*config.lag_jitter, n))
    ).astype(np.int64)
    u_den = rng.uniform(size=n)
    full_rate = c["full_denial_rate"].to_numpy()
    part_rate = c["partial_denial_rate"].to_numpy()
    kind = np.where(u_den < full_rate, "full", np.where(u_den < full_rate + part_rate, "partial",
                    "none"))  # fmt: skip
    has_lines = c["has_lines"].to_numpy()
    n_lines = c["n_lines"].to_numpy()
    u_mode = rng.uniform(size=n)
    mode = np.where(
        kind == "full",
        np.where(has_lines & (u_mode < config.full_denial_line_level_share), "lines", "claim"),
        np.where(
            kind == "partial",
            np.where(
                has_lines & (n_lines >= 2) & (u_mode >= config.partial_portion_share),
                "lines",
                "portion",
            ),
            "",
        ),
    )
    u_status = rng.uniform(size=n)
    ptype = c["payer_type"].to_numpy()
    forwards = np.isin(ptype, ["medicare", "medicaid"])
    status = np.where(
        (kind == "full") & (u_status < config.status_4_share),
        "4",
        np.where(forwards & (u_status < config.status_19_share), "19", "1"),
    )
    overturn = (kind == "full") & (rng.uniform(size=n) < config.overturn_rate)
    appeal_lag = rng.integers(config.appeal_lag_days[0], config.appeal_lag_days[1] + 1, n)
    reverse = (kind == "none") & (rng.uniform(size=n) < config.reversal_rate)
    reversal_lag = rng.integers(config.reversal_lag_days[0], config.reversal_lag_days[1] + 1, n)

    c = (
        c.with_columns(pl.Series("_lag", lag))
        .with_columns(
            pl.Series("_kind", kind),
            pl.Series("_mode", mode),
            pl.Series("status_code", status),
            _weekday_shift(pl.col("billed_date") + pl.duration(days=pl.col("_lag"))).alias("_d0"),
            pl.Series("_overturn", overturn),
            pl.Series("_reverse", reverse),
            pl.Series("_appeal_lag", appeal_lag),
            pl.Series("_reversal_lag", reversal_lag),
        )
        .with_columns(
            _weekday_shift(pl.col("_d0") + pl.duration(days=pl.col("_appeal_lag"))).alias("_d_ot"),
            _weekday_shift(pl.col("_d0") + pl.duration(days=pl.col("_reversal_lag"))).alias(
                "_d_rv"
            ),
        )
    )
    # drop everything already outside the window early (still in A/R at the cut-off)
    c = c.filter(pl.col("_d0") <= end_date)

    claim_cols = [
        "claim_id", "payer_id", "facility_id", "charge_cents", "has_lines", "payer_type",
        "paid_to_charge_ratio", "patient_share_ratio", "status_code",
    ]  # fmt: skip
    initial = c.select(
        *claim_cols,
        pl.col("_d0").alias("remit_date"),
        pl.lit("initial").alias("_role"),
        pl.col("_kind").alias("_denial_kind"),
        pl.col("_mode"),
    )
    ot = c.filter(pl.col("_overturn") & (pl.col("_d_ot") <= end_date)).select(
        *claim_cols[:-1],
        pl.lit("1").alias("status_code"),
        pl.col("_d_ot").alias("remit_date"),
        pl.lit("overturn").alias("_role"),
        pl.lit("none").alias("_denial_kind"),
        pl.lit("").alias("_mode"),
    )
    rv = c.filter(pl.col("_reverse") & (pl.col("_d_rv") <= end_date))
    corr = rv.select(
        *claim_cols[:-1],
        pl.lit("1").alias("status_code"),
        pl.col("_d_rv").alias("remit_date"),
        pl.lit("correction").alias("_role"),
        pl.lit("none").alias("_denial_kind"),
        pl.lit("").alias("_mode"),
    )
    a = pl.concat([initial, ot, corr]).sort(
        "claim_id", pl.col("_role").replace_strict(_ROLE_ORDER, return_dtype=pl.Int8)
    )
    m = a.height
    a = a.with_columns(pl.int_range(0, m, dtype=pl.Int64).alias("adj_id"))

    # adjudication parameters per adjudication
    ratio = a["paid_to_charge_ratio"].to_numpy() * rng.uniform(*config.allowed_jitter, m)
    is_corr = (a["_role"] == "correction").to_numpy()
    ratio = np.where(is_corr, ratio * rng.uniform(*config.correction_ratio_jitter, m), ratio)
    share = np.minimum(
        a["patient_share_ratio"].to_numpy() * rng.uniform(*config.patient_share_jitter, m),
        config.max_patient_share,
    )
    patterns = np.array([[0, 0], [0, 0], [0.6, 0], [0, 1], [0.3, 0.2], [1, 0]])  # (w1, w3)
    pat = patterns[_weighted(rng, m, (0.15, 0.35, 0.2, 0.1, 0.1, 0.1))]
    share = np.where(_weighted(rng, m, (0.15, 0.85)) == 0, 0.0, share)
    a = a.with_columns(
        pl.Series("_ratio", np.clip(ratio, 0.02, 1.0)),
        pl.Series("_share", share),
        pl.Series("_w1", pat[:, 0]),
        pl.Series("_w3", pat[:, 1]),
        pl.Series("_portion", rng.uniform(0.15, 0.5, m)),
        pl.when(pl.col("payer_type") == "medicare")
        .then(pl.lit(config.sequestration_rate))
        .otherwise(0.0)
        .alias("_seqr"),
        (
            pl.col("has_lines")
            & ~((pl.col("_denial_kind") == "full") & (pl.col("_mode") == "claim"))
        ).alias("_emit_lines"),
    )

    # ---- line adjudication --------------------------------------------------------------
    la = a.filter(pl.col("_emit_lines")).select(
        "adj_id", "claim_id", "_denial_kind", "_mode", "_ratio", "_share", "_w1", "_w3"
    )
    ln = la.join(lines_in, on="claim_id", how="inner").sort(
        "adj_id", "line_number", "charge_id", "charge_cents"
    )
    nl = ln.height
    ln = ln.with_columns(pl.Series("_u", rng.uniform(size=nl)))
    ln = ln.with_columns(
        pl.col("_u").rank("ordinal").over("adj_id").alias("_rk"),
        pl.len().over("adj_id").alias("_nl"),
        pl.Series("_du", rng.uniform(size=nl)),
    )
    # partial by lines: deny m in [1, n-1] lines
    n_deny = 1 + (pl.col("_du").first().over("adj_id") * (pl.col("_nl") - 1) * 0.6).floor()
    denied = (pl.col("_denial_kind") == "full") & (pl.col("_mode") == "lines") | (
        (pl.col("_denial_kind") == "partial")
        & (pl.col("_mode") == "lines")
        & (pl.col("_rk") <= n_deny)
    )
    ln = ln.with_columns(denied.alias("_denied"))
    ln = ln.with_columns(
        pl.when(pl.col("_denied"))
        .then(0)
        .otherwise((pl.col("charge_cents") * pl.col("_ratio")).round().cast(pl.Int64))
        .alias("allowed_cents")
    )
    ln = _patient_share(ln, "allowed_cents").with_columns(
        pl.when(pl.col("_denied"))
        .then(0)
        .otherwise(pl.col("charge_cents") - pl.col("allowed_cents"))
        .alias("co45"),
    )
    ln = ln.with_columns(
        (pl.col("allowed_cents") - pl.col("_pr")).alias("paid_cents"),
    )
    remark_ok = pl.Series(rng.uniform(size=nl) < config.remark_rate)
    line_adj = [
        _contract_triplets(ln.filter(~pl.col("_denied")), line_level=True),
        _denial_triplets(
            ln.filter(pl.col("_denied")), "charge_cents", config.line_denial_carcs, rng, config
        ),
    ]
    line_adj = pl.concat(line_adj)
    first_carc = line_adj.filter(pl.col("_is_denial") & (pl.col("seq") == 10)).select(
        "adj_id", "line_number", pl.col("carc_code").alias("_carc1")
    )
    ln = ln.join(
        first_carc, on=["adj_id", "line_number"], how="left", maintain_order="left"
    ).with_columns(
        pl.when(pl.col("_denied") & remark_ok)
        .then(pl.col("_carc1").replace_strict(_REMARKS, default="N130"))
        .alias("remark_code")
    )
    line_sums = ln.group_by("adj_id").agg(
        pl.col("paid_cents").sum().alias("_lpaid"),
        pl.col("_pr").sum().alias("_lpr"),
        pl.col("allowed_cents").sum().alias("_lallowed"),
    )

    # ---- claim-level adjudication -------------------------------------------------------
    a = a.join(line_sums, on="adj_id", how="left", maintain_order="left")
    emit = pl.col("_emit_lines")
    full_claim = (pl.col("_denial_kind") == "full") & (pl.col("_mode") == "claim")
    portion = (pl.col("_denial_kind") == "partial") & (pl.col("_mode") == "portion")
    a = a.with_columns(
        # claim-level denial amount
        pl.when(full_claim & ~emit)
        .then(pl.col("charge_cents"))
        .when(portion & emit)
        .then((pl.col("_lpaid") * pl.col("_portion")).floor().cast(pl.Int64))
        .when(portion & ~emit)
        .then((pl.col("charge_cents") * pl.col("_portion")).floor().cast(pl.Int64))
        .otherwise(0)
        .alias("_cden"),
    )
    # claims adjudicated without lines: contractual and patient share at claim level
    a = a.with_columns(
        pl.when(~emit & ~full_claim)
        .then(((pl.col("charge_cents") - pl.col("_cden")) * pl.col("_ratio")).round())
        .otherwise(0)
        .cast(pl.Int64)
        .alias("_callowed")
    )
    a = _patient_share(a, "_callowed").with_columns(
        pl.when(~emit & ~full_claim)
        .then(pl.col("charge_cents") - pl.col("_cden") - pl.col("_callowed"))
        .otherwise(0)
        .alias("co45"),
    )
    pre_seq = (
        pl.when(emit)
        .then(pl.col("_lpaid") - pl.col("_cden"))
        .otherwise(pl.col("_callowed") - pl.col("_pr"))
    )
    a = a.with_columns(pre_seq.fill_null(0).alias("_pre"))
    a = a.with_columns(
        (pl.col("_pre").clip(0) * pl.col("_seqr")).round().cast(pl.Int64).alias("seq253")
    ).with_columns(
        (pl.col("_pre") - pl.col("seq253")).alias("paid_cents"),
        (pl.col("_pr") + pl.col("_lpr").fill_null(0)).alias("patient_resp_cents"),
        pl.when(emit)
        .then(pl.col("_lallowed"))
        .otherwise(pl.col("_callowed"))
        .fill_null(0)
        .alias("allowed_cents"),
    )
    claim_den_rows = a.filter(pl.col("_cden") > 0).with_columns(
        pl.lit(None, pl.Int32).alias("line_number")
    )
    full_rows = claim_den_rows.filter(full_claim)
    port_rows = claim_den_rows.filter(~full_claim)
    claim_adj = pl.concat(
        [
            _contract_triplets(
                a.with_columns(pl.lit(None, pl.Int32).alias("line_number")).select(
                    "adj_id", "line_number", "co45", "seq253", "pr1", "pr2", "pr3"
                ),
                line_level=False,
            ),  # fmt: skip
            _denial_triplets(full_rows, "_cden", config.claim_denial_carcs, rng, config),
            _denial_triplets(port_rows, "_cden", config.line_denial_carcs, rng, config),
        ]
    )
    # claim-level contractual rows exist only for claims without lines (co45/pr zero otherwise)

    # ---- reversals: negated copies of the original adjudication -------------------------
    rv_keys = rv.select("claim_id", pl.col("_d_rv").alias("_rv_date"))
    orig = a.filter(pl.col("_role") == "initial").join(
        rv_keys, on="claim_id", how="inner", maintain_order="left"
    )
    base_id = m
    rev_map = orig.select(
        "adj_id",
        (base_id + pl.int_range(0, orig.height, dtype=pl.Int64)).alias("_new_id"),
    )
    neg_cents = ["charge_cents", "paid_cents", "patient_resp_cents", "allowed_cents"]
    rev_claims = (
        orig.join(rev_map, on="adj_id", maintain_order="left")
        .with_columns(
            pl.col("_new_id").alias("adj_id"),
            pl.col("_rv_date").alias("remit_date"),
            pl.lit("22").alias("status_code"),
            pl.lit("reversal").alias("_role"),
            pl.lit("none").alias("_denial_kind"),
            *[(-pl.col(x)).alias(x) for x in neg_cents],
        )
        .drop("_new_id", "_rv_date")
    )
    rev_lines = (
        ln.join(rev_map, on="adj_id", how="inner", maintain_order="left")
        .with_columns(
            pl.col("_new_id").alias("adj_id"),
            *[(-pl.col(x)).alias(x) for x in ("charge_cents", "paid_cents", "allowed_cents")],
        )
        .drop("_new_id")
    )
    all_adj = pl.concat([line_adj, claim_adj])
    rev_adj = (
        all_adj.join(rev_map, on="adj_id", how="inner", maintain_order="left")
        .with_columns(pl.col("_new_id").alias("adj_id"), -pl.col("amount_cents"))
        .drop("_new_id")
    )

    # ---- assemble claim rows ------------------------------------------------------------
    claim_rows = pl.concat([a, rev_claims], how="diagonal_relaxed")
    claim_rows = _claim_details(claim_rows, c, rng, config, seed)
    line_rows = pl.concat([ln, rev_lines], how="diagonal_relaxed").select(
        "adj_id", "line_number", "charge_id", "service_date", "revenue_code", "hcpcs_code",
        "modifiers", "units", "charge_cents", "paid_cents", "allowed_cents", "remark_code",
        "_denied",
    ).sort("adj_id", "line_number")  # fmt: skip
    # (unsorted: the writer orders triplets by adj_id, line, group code and seq)
    adjustments = pl.concat([all_adj, rev_adj]).select(list(_ADJ_SCHEMA))

    # ---- transactions -------------------------------------------------------------------
    facilities = _prepare_facilities(
        ref.facilities, sorted(c["facility_id"].unique().drop_nulls().to_list()), seed
    )
    tx_keys = (
        claim_rows.select("remit_date", "payer_id", "facility_id")
        .unique()
        .sort("remit_date", "payer_id", "facility_id")
        .with_row_index("transaction_id")
        .with_columns(pl.col("transaction_id").cast(pl.Int64))
    )
    claim_rows = claim_rows.join(
        tx_keys, on=["remit_date", "payer_id", "facility_id"], maintain_order="left"
    )
    tx_paid = claim_rows.group_by("transaction_id").agg(pl.col("paid_cents").sum())
    transactions = (
        tx_keys.join(tx_paid, on="transaction_id", maintain_order="left")
        .join(payers, on="payer_id", how="left", maintain_order="left")
        .join(facilities, on="facility_id", how="left", maintain_order="left")
        .sort("transaction_id")
    )
    transactions, plb = _provider_adjustments(transactions, rng, config)
    transactions = transactions.select(
        "transaction_id", "remit_date", "payer_id", "payer_key", "payer_name",
        "payer_id_qualified", "payer_address1", "payer_city", "payer_state", "payer_zip",
        "payer_phone", "payer_tin", "facility_id", "payee_name", "payee_npi", "payee_tin",
        "payee_address1", "payee_city", "payee_state", "payee_zip", "payment_method",
        "paid_cents", "plb_cents", "bpr_cents",
        pl.concat_str(
            pl.col("remit_date").dt.strftime("%y%m%d"),
            pl.col("transaction_id").cast(pl.String).str.zfill(7),
        ).alias("trace_number"),
    )  # fmt: skip
    claim_rows = claim_rows.join(
        transactions.select("transaction_id", "payer_key"),
        on="transaction_id",
        maintain_order="left",
    ).sort(
        "transaction_id",
        "facility_type_code",
        "claim_id",
        pl.col("_role").replace_strict(_ROLE_ORDER, return_dtype=pl.Int8),
    )
    claim_rows = claim_rows.select(
        "adj_id", "transaction_id", "claim_id", "status_code", "charge_cents", "paid_cents",
        "patient_resp_cents", "filing_indicator", "payer_claim_number", "facility_type_code",
        "frequency_code", "drg_code", "statement_from", "statement_to", "received_date",
        "covered_days", "patient_last", "patient_first", "patient_middle", "member_id",
        "subscriber_first", "moa_remarks", "mia_remark", "_emit_lines", "remit_date",
        "payer_id", "payer_key", "facility_id", "encounter_type", "_role", "_denial_kind",
    ).rename({"_emit_lines": "has_lines"})  # fmt: skip

    net = (
        claim_rows.group_by("claim_id")
        .agg(pl.len().alias("remittances"), pl.col("paid_cents").sum().alias("net_paid_cents"))
        .sort("claim_id")
    )
    denial_rates, by_reason = _denial_truth(claim_rows, adjustments)
    payer_rates = payers.filter(pl.col("emits_835")).select(
        "payer_id", "payer_key", "full_denial_rate", "partial_denial_rate"
    )
    return Remittances(
        start_date=start_date,
        end_date=end_date,
        seed=seed,
        transactions=transactions,
        claims=claim_rows,
        lines=line_rows,
        adjustments=adjustments,
        provider_adjustments=plb,
        claim_net_paid=net,
        denial_rates=denial_rates,
        denials_by_reason=by_reason,
        payer_rates=payer_rates,
    )


def _claim_details(
    rows: pl.DataFrame, c: pl.DataFrame, rng: np.random.Generator, config: RemitConfig, seed: int
) -> pl.DataFrame:
    """CLP/NM1/DTM/MIA/MOA details: claim facts, synthetic patient names, ids, remarks."""
    facts = c.select(
        "claim_id",
        "patient_id",
        "encounter_type",
        "clp06",
        pl.col("facility_type_code").cast(pl.String) if "facility_type_code" in c.columns
        else pl.lit(None, pl.String).alias("facility_type_code"),
        pl.col("frequency_code").cast(pl.String) if "frequency_code" in c.columns
        else pl.lit("1").alias("frequency_code"),
        pl.col("drg_code").cast(pl.String) if "drg_code" in c.columns
        else pl.lit(None, pl.String).alias("drg_code"),
        pl.col("statement_from").cast(pl.Date),
        pl.col("statement_to").cast(pl.Date),
        pl.col("billed_date").cast(pl.Date),
    )  # fmt: skip
    rows = rows.join(facts, on="claim_id", how="left", maintain_order="left")
    # patients: deterministic names / member ids by rank of patient_id (PHI, 835 only)
    pats = (
        rows.select(pl.col("patient_id").fill_null(pl.col("claim_id"))).unique().sort("patient_id")
    )
    k = pats.height
    prng = np.random.default_rng([seed, 8353])
    pats = pats.with_columns(
        pl.Series("patient_last", np.array(_LAST)[prng.integers(0, len(_LAST), k)]),
        pl.Series("patient_first", np.array(_FIRST)[prng.integers(0, len(_FIRST), k)]),
        pl.Series("patient_middle", np.array(list("ABCDEFGHJKLMNPRSTW"))[prng.integers(0, 18, k)]),
        pl.Series("_sub", np.where(
            prng.uniform(size=k) < config.subscriber_not_patient_rate,
            np.array(_FIRST)[prng.integers(0, len(_FIRST), k)], ""), dtype=pl.String)
        .replace("", None),
        pl.Series("_member_n", prng.integers(10**8, 10**9 - 1, k)),
    )  # fmt: skip
    rows = rows.with_columns(pl.col("patient_id").fill_null(pl.col("claim_id"))).join(
        pats, on="patient_id", how="left", maintain_order="left"
    )
    n = rows.height
    icn = prng.integers(10**10, 10**11 - 1, n)
    inpatient = pl.col("encounter_type") == "inpatient"
    moa_draw = pl.Series(prng.uniform(size=n) < config.moa_rate)
    denied = pl.col("_denial_kind") != "none"
    rows = rows.with_columns(
        pl.concat_str(
            pl.col("payer_id").str.slice(0, 2).str.to_uppercase(),
            pl.col("_member_n").cast(pl.String),
        ).alias("member_id"),
        pl.col("_sub").alias("subscriber_first"),
        pl.col("clp06").alias("filing_indicator"),
        pl.Series("_icn", icn).cast(pl.String),
        pl.coalesce(
            "facility_type_code",
            pl.when(inpatient).then(pl.lit("11")).otherwise(pl.lit("13")),
        ).alias("facility_type_code"),
        pl.col("frequency_code").fill_null("1"),
        pl.min_horizontal(pl.col("billed_date") + pl.duration(days=2), pl.col("remit_date")).alias(
            "received_date"
        ),
        pl.when(inpatient)
        .then(((pl.col("statement_to") - pl.col("statement_from")).dt.total_days()).clip(1))
        .cast(pl.Int64)
        .alias("covered_days"),
        pl.when(~inpatient & (moa_draw | denied))
        .then(pl.when(denied).then(pl.lit("MA01")).otherwise(pl.lit("MA18")))
        .alias("moa_remarks"),
        pl.when(inpatient & denied).then(pl.lit("MA01")).alias("mia_remark"),
    )
    # the reversal repeats the original's payer claim control number
    orig_icn = rows.filter(pl.col("_role") == "initial").select("claim_id", pl.col("_icn")
                                                                 .alias("_oicn"))  # fmt: skip
    rows = rows.join(orig_icn, on="claim_id", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("_role") == "reversal")
        .then(pl.coalesce("_oicn", "_icn"))
        .otherwise(pl.col("_icn"))
        .alias("payer_claim_number")
    )
    return rows


def _provider_adjustments(
    tx: pl.DataFrame, rng: np.random.Generator, config: RemitConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """PLB pairs per transaction; BPR02 = sum(CLP04) - sum(PLB) is kept >= 0."""
    t = tx.height
    paid = tx["paid_cents"].to_numpy()
    interest = np.where(
        (rng.uniform(size=t) < config.plb_interest_rate) & (paid > 0),
        -np.maximum(1, np.rint(paid * rng.uniform(0.001, 0.01, t))),
        0,
    ).astype(np.int64)
    recovery = np.where(
        (rng.uniform(size=t) < config.plb_recovery_rate) & (paid > 100),
        np.rint(paid * rng.uniform(0.01, 0.3, t)),
        0,
    ).astype(np.int64)
    fwd = np.where(
        (rng.uniform(size=t) < config.plb_forward_rate) & (paid > 100),
        np.rint(paid * rng.uniform(-0.05, 0.2, t)),
        0,
    ).astype(np.int64)
    # a transaction that would pay a negative total forwards its balance
    remaining = paid - interest - recovery - fwd
    fwd = np.where(remaining < 0, fwd + remaining, fwd)
    ref_claim = rng.integers(10**7, 10**8 - 1, t)
    tids = tx["transaction_id"].to_numpy()
    remit = tx["remit_date"]
    parts = []
    for seq, (code, amount) in enumerate((("WO", recovery), ("L6", interest), ("FB", fwd))):
        keep = amount != 0
        if not keep.any():
            continue
        part = pl.DataFrame(
            {
                "transaction_id": tids[keep],
                "seq": np.full(keep.sum(), seq, dtype=np.int32),
                "reason_code": [code] * int(keep.sum()),
                "_ref_n": ref_claim[keep],
                "_remit": remit.filter(pl.Series(keep)),
                "amount_cents": amount[keep],
            }
        )
        parts.append(part)
    if parts:
        plb = pl.concat(parts).with_columns(
            pl.when(pl.col("reason_code") == "WO")
            .then(pl.concat_str(pl.lit("OVERPAY"), pl.col("_ref_n").cast(pl.String)))
            .when(pl.col("reason_code") == "FB")
            .then(pl.concat_str(pl.lit("FB"), pl.col("_remit").dt.strftime("%Y%m%d")))
            .alias("reference")
        )
        plb = plb.select(
            pl.col("transaction_id").cast(pl.Int64),
            "seq",
            "reason_code",
            "reference",
            pl.col("amount_cents").cast(pl.Int64),
        ).sort("transaction_id", "seq")
    else:
        plb = pl.DataFrame(
            schema={
                "transaction_id": pl.Int64,
                "seq": pl.Int32,
                "reason_code": pl.String,
                "reference": pl.String,
                "amount_cents": pl.Int64,
            }
        )
    totals = plb.group_by("transaction_id").agg(pl.col("amount_cents").sum().alias("plb_cents"))
    tx = tx.join(totals, on="transaction_id", how="left", maintain_order="left").with_columns(
        pl.col("plb_cents").fill_null(0)
    )
    tx = tx.with_columns((pl.col("paid_cents") - pl.col("plb_cents")).alias("bpr_cents"))
    return tx, plb


# ----------------------------------------------------------------------------------------------
# truth


def _denial_truth(
    claim_rows: pl.DataFrame, adjustments: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Denial marts from the injected labels (domain.md Part A)."""
    first = claim_rows.filter(pl.col("_role") == "initial")
    den_adj = adjustments.filter(pl.col("_is_denial")).join(
        first.select("adj_id"), on="adj_id", how="semi"
    )
    denied_ids = den_adj.select("adj_id").unique().with_columns(pl.lit(True).alias("_denied"))
    first = first.join(denied_ids, on="adj_id", how="left").with_columns(
        pl.col("_denied").fill_null(False),
        pl.col("remit_date").dt.truncate("1mo").alias("month"),
    )
    paid_later = (
        claim_rows.filter(
            (pl.col("_role") != "initial")
            & (pl.col("status_code") != "22")
            & (pl.col("paid_cents") > 0)
        )
        .select("claim_id")
        .unique()
        .with_columns(pl.lit(True).alias("_paid_later"))
    )
    first = first.join(paid_later, on="claim_id", how="left").with_columns(
        pl.col("_paid_later").fill_null(False)
    )
    first = first.drop("payer_id")
    rates = (
        first.group_by("month", "facility_id", pl.col("payer_key").alias("payer_id"))
        .agg(
            pl.len().alias("claims_remitted"),
            pl.col("_denied").sum().alias("claims_denied"),
            (pl.col("_denied") & (pl.col("paid_cents") == 0)).sum().alias("claims_denied_full"),
            (pl.col("_denied") & (pl.col("paid_cents") != 0)).sum().alias("claims_denied_partial"),
            pl.col("charge_cents").sum().alias("charges_remitted_cents"),
            pl.col("charge_cents").filter(pl.col("_denied")).sum().alias("charges_denied_cents"),
            (pl.col("_denied") & pl.col("_paid_later")).sum().alias("claims_overturned"),
        )
        .with_columns(pl.col(pl.UInt32).cast(pl.Int64))
        .with_columns(
            (pl.col("claims_denied") / pl.col("claims_remitted")).alias("initial_denial_rate"),
            (pl.col("charges_denied_cents") / pl.col("charges_remitted_cents")).alias(
                "denial_rate_dollars"
            ),
        )
        .sort("month", "facility_id", "payer_id")
    )
    reasons = den_adj.join(
        first.select("adj_id", "month", pl.col("payer_key").alias("payer_id")), on="adj_id"
    )
    reasons = _category_lookup(reasons)
    by_reason = (
        reasons.group_by(
            "month",
            "payer_id",
            pl.col("group_code").alias("carc_group"),
            "carc_code",
            "denial_category",
        )  # fmt: skip
        .agg(
            pl.len().cast(pl.Int64).alias("lines_denied"),
            pl.col("amount_cents").sum().alias("dollars_denied_cents"),
        )
        .sort("month", "payer_id", "carc_group", "carc_code")
    )
    return rates, by_reason
