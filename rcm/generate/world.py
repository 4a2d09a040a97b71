"""The synthetic hospital system: facilities, departments, payers, chargemaster, coders, providers.

The static parts are the shipped reference CSVs (also dbt seeds); coders and attending providers
are drawn from the seed. Provider NPIs are random 9-digit bases with a valid Luhn check digit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from rcm.npi import npi_check_digit
from rcm.reference import read_reference

N_CODERS = 12
N_PROVIDERS = 40

# Coders per home facility (None = float pool, codes for any facility).
_CODER_HOMES = ("F01", "F01", "F01", "F01", "F02", "F02", "F02", "F03", "F03", "F04", "F05", None)
# Attending providers per facility and their specialties.
_PROVIDER_PLAN = {
    "F01": 14,
    "F02": 11,
    "F03": 7,
    "F04": 4,
    "F05": 4,
}
_SPECIALTIES = {
    "F01": ("hospitalist", "emergency_medicine", "cardiology", "general_surgery", "critical_care"),
    "F02": ("hospitalist", "emergency_medicine", "orthopedics", "general_surgery", "internal_med"),
    "F03": ("hospitalist", "emergency_medicine", "family_medicine", "general_surgery"),
    "F04": ("orthopedics", "ophthalmology", "gastroenterology", "general_surgery"),
    "F05": ("emergency_medicine",),
}


@dataclass(frozen=True)
class World:
    """Reference frames of the hospital system (all ids text).

    facilities: facility_id, facility_name, facility_type, npi, city, state, bed_count,
        price_multiplier, share_<encounter_type> (facility weight within each type).
    departments: facility_id, department_id, department_name, department_type.
    payers: payer_id, payer_name, payer_type, claim_filing_indicator, paid_to_charge_ratio,
        remit_lag_days, patient_share_ratio, emits_835 (bool), initial_denial_rate,
        payer_identifier.
    chargemaster: cdm_code, description, revenue_code, hcpcs_code (nullable), unit_price
        (dollars), unit_price_cents, cost_category, default_cost_ratio, charge_group,
        department_type (null = the encounter's department), weight.
    revenue_code_families: revenue_code_prefix (3 chars), revenue_code_family, description.
    cost_to_charge_ratios: facility_id, revenue_code_family ('*' = hospital-wide fallback),
        cost_to_charge_ratio.
    coders: coder_id, home_facility_id (null = float pool), error_multiplier.
    providers: provider_npi, provider_name, facility_id, specialty.
    """

    facilities: pl.DataFrame
    departments: pl.DataFrame
    payers: pl.DataFrame
    chargemaster: pl.DataFrame
    revenue_code_families: pl.DataFrame
    cost_to_charge_ratios: pl.DataFrame
    coders: pl.DataFrame
    providers: pl.DataFrame


def _npis(rng: np.random.Generator, count: int) -> list[str]:
    """Distinct individual NPIs (first digit 1) with valid check digits."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        base = "1" + "".join(str(d) for d in rng.integers(0, 10, 8))
        npi = base + str(npi_check_digit(base))
        if npi not in seen:
            seen.add(npi)
            out.append(npi)
    return out


def build_world(seed: int, coder_error_sigma: float = 0.5) -> World:
    """The hospital system for a seed: shipped reference tables plus seeded coders/providers."""
    rng = np.random.default_rng([seed, 7])
    facilities = read_reference("facilities.csv").with_columns(
        pl.col("bed_count").cast(pl.Int64),
        pl.col("price_multiplier").cast(pl.Float64),
        pl.col("^share_.*$").cast(pl.Float64),
    )
    departments = read_reference("departments.csv")
    payers = read_reference("payers.csv").with_columns(
        pl.col("emits_835").str.to_lowercase().eq("true").alias("emits_835"),
        pl.col("initial_denial_rate").cast(pl.Float64),
    )
    chargemaster = read_reference("chargemaster.csv").with_columns(
        pl.col("unit_price").cast(pl.Float64),
        (pl.col("unit_price").cast(pl.Float64) * 100)
        .round(0)
        .cast(pl.Int64)
        .alias("unit_price_cents"),
        pl.col("default_cost_ratio").cast(pl.Float64),
        pl.col("weight").cast(pl.Float64),
    )
    families = read_reference("revenue_code_families.csv")
    ccr = read_reference("cost_to_charge_ratios.csv")

    multipliers = rng.lognormal(0.0, coder_error_sigma, N_CODERS)
    multipliers = multipliers / multipliers.mean()
    coders = pl.DataFrame(
        {
            "coder_id": [f"CDR{i + 1:02d}" for i in range(N_CODERS)],
            "home_facility_id": list(_CODER_HOMES),
            "error_multiplier": np.round(multipliers, 4),
        },
        schema={
            "coder_id": pl.String,
            "home_facility_id": pl.String,
            "error_multiplier": pl.Float64,
        },
    )

    npis = _npis(rng, N_PROVIDERS)
    rows: list[tuple[str, str, str, str]] = []
    k = 0
    for facility_id, count in _PROVIDER_PLAN.items():
        specialties = _SPECIALTIES[facility_id]
        for i in range(count):
            rows.append(
                (npis[k], f"Provider {k + 1:03d}", facility_id, specialties[i % len(specialties)])
            )
            k += 1
    providers = pl.DataFrame(
        rows, schema=["provider_npi", "provider_name", "facility_id", "specialty"], orient="row"
    )
    return World(
        facilities=facilities,
        departments=departments,
        payers=payers,
        chargemaster=chargemaster,
        revenue_code_families=families,
        cost_to_charge_ratios=ccr,
        coders=coders,
        providers=providers,
    )
