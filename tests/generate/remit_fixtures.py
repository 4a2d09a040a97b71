"""Synthetic claims / claim_lines frames (generator-design.md schemas) for the remit tests.

Built with numpy + polars so the same builder serves the 1M-claim benchmark.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from rcm.generate.remit import ReferenceFrames

PAYERS = pl.DataFrame(
    {
        "payer_id": ["MCR01", "MCD01", "BCBS1", "AETNA", "UHC01", "SELF"],
        "payer_name": [
            "Medicare Part A", "State Medicaid", "Blue Cross Blue Shield", "Aetna",
            "UnitedHealthcare", "Self Pay",
        ],
        "payer_type": [
            "medicare", "medicaid", "commercial", "commercial", "managed_care", "self_pay",
        ],
        "claim_filing_indicator": ["MA", "MC", "BL", "CI", "HM", "ZZ"],
        "paid_to_charge_ratio": [0.32, 0.25, 0.55, 0.5, 0.45, 0.2],
        "remit_lag_days": [14.0, 30.0, 21.0, 18.0, 25.0, 0.0],
        "patient_share_ratio": [0.08, 0.02, 0.15, 0.18, 0.12, 1.0],
        "emits_835": [True, True, True, True, True, False],
    }
)  # fmt: skip

FACILITIES = pl.DataFrame(
    {
        "facility_id": ["FAC01", "FAC02", "FAC03"],
        "name": ["Riverside General Hospital", "Northgate Medical Center", "Lakeview Clinic"],
        "npi": ["1234567893", "1245319599", "1992999999"],
    }
)

REFERENCE = ReferenceFrames(payers=PAYERS, facilities=FACILITIES)

_HCPCS = np.array(
    ["99213", "99214", "99283", "99285", "80053", "85025", "71046", "93005", "36415", "J1100",
     "G0378", "74177", "0001T", "", "", ""]
)  # fmt: skip
_REV = np.array(["0450", "0300", "0301", "0320", "0350", "0250", "0636", "0730", "0762", "0510"])
_MODS = [[], [], [], ["25"], ["59"], ["25", "59"], ["LT", "RT", "59", "XU"]]


def build_claims(
    n: int, seed: int = 7, start: dt.date = dt.date(2026, 1, 1), days: int = 90
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """n claims with ~3.5 lines each; ~12% inpatient DRG claims; billed within the window."""
    rng = np.random.default_rng(seed)
    inpatient = rng.uniform(size=n) < 0.12
    enc_type = np.where(inpatient, "inpatient", rng.choice(
        ["outpatient", "emergency", "observation", "ambulatory_surgery"], n))  # fmt: skip
    from_off = rng.integers(0, days, n)
    los = np.where(inpatient, rng.integers(1, 9, n), 0)
    bill_lag = rng.integers(1, 12, n)
    start_np = np.datetime64(start.isoformat())
    s_from = start_np + from_off
    s_to = s_from + los
    billed = s_to + bill_lag
    payer_idx = rng.choice(len(PAYERS), n, p=[0.3, 0.15, 0.2, 0.15, 0.15, 0.05])
    n_lines = rng.integers(1, 8, n)
    claim_ids = np.char.add("CLM", np.char.zfill(np.arange(n).astype(str), 8))
    claims = pl.DataFrame(
        {
            "claim_id": claim_ids,
            "encounter_id": np.char.add("E", np.char.zfill(np.arange(n).astype(str), 8)),
            "patient_id": np.char.add("MRN", np.char.zfill(rng.integers(0, max(n // 2, 1), n)
                                                           .astype(str), 7)),
            "facility_id": FACILITIES["facility_id"].to_numpy()[rng.integers(0, 3, n)],
            "payer_id": PAYERS["payer_id"].to_numpy()[payer_idx],
            "encounter_type": enc_type,
            "facility_type_code": np.where(inpatient, "11", np.where(enc_type == "emergency",
                                                                     "13", "13")),
            "frequency_code": np.full(n, "1"),
            "drg_code": pl.Series(np.where(inpatient, rng.integers(1, 999, n).astype(str), ""))
            .replace("", None),
            "statement_from": s_from.astype("datetime64[D]"),
            "statement_to": s_to.astype("datetime64[D]"),
            "billed_date": billed.astype("datetime64[D]"),
        }
    ).with_columns(
        pl.col("drg_code").str.zfill(3),
        pl.col(["statement_from", "statement_to", "billed_date"]).cast(pl.Date),
    )  # fmt: skip
    claim_of_line = np.repeat(np.arange(n), n_lines)
    m = claim_of_line.size
    line_no = np.arange(m) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1
    hcpcs = _HCPCS[rng.integers(0, len(_HCPCS), m)]
    mods = pl.Series([_MODS[i] for i in rng.integers(0, len(_MODS), len(_MODS) * 50)])
    charge = (np.exp(rng.normal(5.0, 1.1, m)) * 100).astype(np.int64) + 500
    lines = pl.DataFrame(
        {
            "claim_id": claim_ids[claim_of_line],
            "line_number": line_no.astype(np.int32),
            "charge_id": np.char.add("CHG", np.char.zfill(np.arange(m).astype(str), 9)),
            "service_date": (
                s_from[claim_of_line] + np.minimum(line_no - 1, los[claim_of_line])
            ).astype("datetime64[D]"),
            "revenue_code": _REV[rng.integers(0, len(_REV), m)],
            "hcpcs_code": pl.Series(hcpcs).replace("", None),
            "units": rng.integers(1, 4, m),
            "charge_cents": charge,
        }
    ).with_columns(
        pl.col("service_date").cast(pl.Date),
        mods.gather(pl.Series(rng.integers(0, len(mods), m))).alias("modifiers"),
    )
    totals = lines.group_by("claim_id").agg(
        pl.col("charge_cents").sum().alias("total_charge_cents")
    )
    claims = claims.join(totals, on="claim_id", how="left")
    return claims, lines
