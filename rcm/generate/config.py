"""Knobs of the clinical simulation: encounter mix, timing and the injected defect rates.

Every rate is a probability per *unit* named in its comment; the truth functions in
`rcm.generate.truth` count what was actually written (after the "as of" cut), so the marts are
checked against the realised defects, not against these expectations.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

ENCOUNTER_TYPES = ("inpatient", "emergency", "outpatient", "observation", "ambulatory_surgery")


@dataclass(frozen=True)
class ClinicalConfig:
    """Defaults for `simulate_clinical`; frozen so a run's settings can be dumped to truth.json."""

    # Encounter mix (shares of all encounters, same order as ENCOUNTER_TYPES).
    encounter_mix: tuple[float, ...] = (0.12, 0.30, 0.45, 0.05, 0.08)
    # Distinct patients per encounter (the rest are repeat visits).
    patients_per_encounter: float = 0.8
    # Payer mix (payer_id, weight) for patients under 65 and 65 or older.
    payer_mix_under_65: tuple[tuple[str, float], ...] = (
        ("BCBS", 0.26),
        ("AETNA", 0.16),
        ("UHC", 0.16),
        ("MCAID", 0.26),
        ("MCARE", 0.04),
        ("MAHMO", 0.03),
        ("SELF", 0.09),
    )
    payer_mix_65_plus: tuple[tuple[str, float], ...] = (
        ("MCARE", 0.55),
        ("MAHMO", 0.33),
        ("BCBS", 0.04),
        ("AETNA", 0.02),
        ("MCAID", 0.04),
        ("SELF", 0.02),
    )
    # Share of coder work done at the coder's home facility (else any coder codes it).
    coder_home_share: float = 0.85

    # --- coding defects: probability per encounter x the coder's error_multiplier ----------
    # (world.coders; multipliers average 1 over coders)
    # one extra billable dx billed that the record does not document
    unsupported_dx_rate: float = 0.04
    # the last documented secondary dx is not billed (encounters with >= 2 documented dx)
    missed_dx_rate: float = 0.05
    # the principal dx is billed as its header code (e.g. M545 for M5450); when it has one
    invalid_dx_rate: float = 0.02

    # --- charge-capture and documentation defects -----------------------------------------
    # per encounter: one extra charge line whose hcpcs_code is not documented
    unsupported_charge_rate: float = 0.03
    # per encounter: one documented px code that is never charged
    missed_charge_rate: float = 0.04
    # per encounter (shows once final billed): note never signed, or signed after billing
    unsigned_note_rate: float = 0.04
    # per encounter (shows once final billed): no principal dx, or attending NPI missing/bad
    missing_element_rate: float = 0.015
    # of missing elements, the share that is "no documented dx" (rest: NPI problems)
    missing_element_no_dx_share: float = 0.3
    # per generated charge line: posted after the bill-hold window
    late_charge_rate: float = 0.015
    # per generated charge line: posted with wrong units, credited, re-posted correctly
    charge_reversal_rate: float = 0.01
    # bill-hold window in days (a late charge is posted more than this after the reference date)
    bill_hold_days: int = 4

    # --- versions and costing -----------------------------------------------------------
    # probability that an intermediate encounter version (at admission, discharge, coding,
    # signature) is written to that day's file in addition to the latest one
    intermediate_version_rate: float = 0.15
    # supplies / drugs lines whose direct cost is known to the costing system
    direct_cost_rate: float = 0.85

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every setting (tuples become lists)."""
        return dataclasses.asdict(self)


DEFAULT_CONFIG = ClinicalConfig()
