"""The clinical half of the synthetic hospital: encounters (as versions), charge lines and claims.

Vectorized with numpy on integer arrays; polars frames are built once at the end. All money is
integer cents (Int64); `charge_amount` / `cost_amount` in `charges` are cents too.

Conventions:
- Day offsets count from `start_date`; the window ends ("as of") on `start_date + days - 1`.
  Nothing stamped after the end of that day is written: later encounter events are null in
  the written versions, later charge lines and claims are absent.
- `claim_id` is assigned when the encounter is created (one per encounter) and is carried by
  every charge line of it, posted before or after final billing; a claim row exists once the
  encounter is final billed inside the window.
- Coding waits for the encounter's last charge line to post and final billing waits for coding,
  so a coded encounter has all its lines written; a late charge therefore delays the bill.
- `documented_px_codes` lists the distinct hcpcs codes of the encounter's written charge lines
  (other than injected unsupported lines) plus any injected missed code; every version of an
  encounter carries the same lists, as of the end of the window.
- `billed_dx_codes` (the coder's codes, principal first) are reported once per coded encounter,
  on one of its lines with a hcpcs_code (and on that line's credit / re-post when reversed);
  institutional claims carry diagnoses at claim level, so other lines leave the field empty.
  Lines of encounters not coded by the end of the window carry none.
- A charge reversal: the original line is posted with one unit too many, a credit line with the
  negated units and amount follows 1-2 days later together with a corrected re-post (same code,
  right units). Reversals, late lines and unsupported lines are disjoint; clean lines post
  0-3 days after service, so they are never late.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from rcm.generate.config import DEFAULT_CONFIG, ENCOUNTER_TYPES, ClinicalConfig
from rcm.generate.world import World
from rcm.load.extracts import EXTRACTS

DAY = 86_400
_EPOCH = dt.date(1970, 1, 1)
_NEVER = np.int64(1) << 50  # seconds far beyond any window
HCPCS_FORM = re.compile(r"^(\d{5}|[A-Z]\d{4}|\d{4}T)$")

LINE_KINDS = ("clean", "late", "reversed", "credit", "repost", "unsupported")
_CLEAN, _LATE, _REVERSED, _CREDIT, _REPOST, _UNSUPPORTED = range(6)


@dataclass(frozen=True)
class Slot:
    """A kind of charge in an encounter profile: chargemaster charge_group names in `groups`
    ('|'-separated), present with probability `p`, k distinct items per day or once."""

    groups: str
    p: float
    kmin: int
    kmax: int
    per_day: bool = False
    umin: int = 1
    umax: int = 1


@dataclass(frozen=True)
class Profile:
    """An encounter profile: type, department type, weight within the type, length of stay
    (`los_min` + geometric extra with mean `los_extra`), MS-DRGs (inpatient) and charge slots."""

    name: str
    encounter_type: str
    department_type: str
    weight: float
    los_min: int
    los_extra: float
    drgs: tuple[str, ...]
    slots: tuple[Slot, ...]


_IP_COMMON = (
    Slot("LAB", 1.0, 2, 7, True),
    Slot("PHARM_J", 1.0, 1, 4, True, 1, 3),
    Slot("PHARM_GEN", 1.0, 1, 3, True, 1, 4),
    Slot("SUPPLY_GEN", 0.7, 1, 2, True, 1, 2),
    Slot("PROF_ADMIT", 1.0, 1, 1),
    Slot("PROF_DAILY", 0.8, 1, 1, True),
    Slot("IMG_XR", 0.6, 1, 2),
    Slot("IMG_CT", 0.35, 1, 1),
    Slot("IMG_US", 0.2, 1, 1),
    Slot("EKG", 0.5, 1, 1),
    Slot("IV_THER", 0.5, 1, 2),
    Slot("PT", 0.25, 1, 2, False, 1, 3),
)
_SURGERY = (
    Slot("OR_PROC", 1.0, 1, 1),
    Slot("OR_TIME", 1.0, 1, 1, False, 3, 14),
    Slot("ANES", 1.0, 1, 1, False, 3, 12),
    Slot("RECOV", 1.0, 1, 1),
    Slot("SUPPLY_STERILE", 1.0, 1, 2),
)

PROFILES: tuple[Profile, ...] = (
    Profile(
        "ip_medical",
        "inpatient",
        "MEDSURG",
        0.52,
        1,
        3.2,
        ("871", "193", "690", "392", "683", "189", "603", "641", "065", "378"),
        (
            Slot("RB_MEDSURG", 1.0, 1, 1, True),
            Slot("NURSING", 0.4, 1, 1, True),
            Slot("RESP", 0.3, 1, 2, True),
            *_IP_COMMON,
        ),
    ),
    Profile(
        "ip_surgical",
        "inpatient",
        "MEDSURG",
        0.20,
        1,
        2.0,
        ("470", "418", "460", "343", "331", "621", "494"),
        (
            Slot("RB_MEDSURG", 1.0, 1, 1, True),
            Slot("NURSING", 0.3, 1, 1, True),
            Slot("IMPLANT", 0.5, 1, 2),
            *_SURGERY,
            *_IP_COMMON,
        ),
    ),
    Profile(
        "ip_icu",
        "inpatient",
        "ICU",
        0.12,
        2,
        4.0,
        ("871", "870", "208", "853", "177", "064"),
        (
            Slot("RB_ICU", 1.0, 1, 1, True),
            Slot("NURSING", 0.7, 1, 2, True),
            Slot("RESP", 1.0, 1, 3, True),
            Slot("LAB", 1.0, 1, 3, True),
            Slot("IV_THER", 0.8, 1, 3, True),
            *_IP_COMMON,
        ),
    ),
    Profile(
        "ip_telemetry",
        "inpatient",
        "TELE",
        0.16,
        1,
        2.5,
        ("291", "247", "310", "287", "309", "313"),
        (
            Slot("RB_TELE", 1.0, 1, 1, True),
            Slot("EKG", 0.6, 1, 1, True),
            Slot("CARD", 1.0, 1, 2),
            *_IP_COMMON,
        ),
    ),
    Profile(
        "emergency",
        "emergency",
        "ED",
        1.0,
        0,
        0.0,
        (),
        (
            Slot("ED_VISIT", 1.0, 1, 1),
            Slot("LAB", 0.8, 3, 10),
            Slot("IMG_XR", 0.45, 1, 2),
            Slot("IMG_CT", 0.3, 1, 2),
            Slot("IMG_US", 0.08, 1, 1),
            Slot("PHARM_J", 0.65, 1, 4, False, 1, 2),
            Slot("PHARM_GEN", 0.4, 1, 2, False, 1, 3),
            Slot("IV_THER", 0.55, 1, 3),
            Slot("SUPPLY_GEN", 0.8, 1, 5),
            Slot("EKG", 0.35, 1, 1),
            Slot("RESP", 0.12, 1, 2),
        ),
    ),
    Profile(
        "observation",
        "observation",
        "OBS",
        1.0,
        0,
        0.6,
        (),
        (
            Slot("OBS_HOURS", 1.0, 1, 1, False, 8, 40),
            Slot("ED_VISIT", 0.6, 1, 1),
            Slot("LAB", 1.0, 2, 5, True),
            Slot("PHARM_J", 1.0, 1, 3, True, 1, 2),
            Slot("PHARM_GEN", 0.7, 1, 2, True, 1, 3),
            Slot("SUPPLY_GEN", 0.6, 1, 2, True),
            Slot("IMG_XR", 0.5, 1, 1),
            Slot("IMG_CT", 0.3, 1, 1),
            Slot("EKG", 0.7, 1, 1),
            Slot("CARD", 0.3, 1, 1),
            Slot("IV_THER", 0.6, 1, 2),
            Slot("PROF_ADMIT", 0.5, 1, 1),
        ),
    ),
    Profile(
        "op_clinic",
        "outpatient",
        "CLINIC",
        0.30,
        0,
        0.0,
        (),
        (
            Slot("CLINIC_VISIT", 1.0, 1, 1),
            Slot("LAB", 0.7, 2, 7),
            Slot("IMG_XR", 0.2, 1, 1),
            Slot("PHARM_J", 0.12, 1, 2),
            Slot("EKG", 0.12, 1, 1),
            Slot("SUPPLY_GEN", 0.2, 1, 2),
        ),
    ),
    Profile(
        "op_imaging",
        "outpatient",
        "RAD",
        0.30,
        0,
        0.0,
        (),
        (
            Slot("IMG_XR|IMG_CT|IMG_MR|IMG_US", 1.0, 1, 3),
            Slot("CONTRAST", 0.3, 1, 1, False, 50, 150),
            Slot("SUPPLY_GEN", 0.3, 1, 2),
            Slot("IV_THER", 0.15, 1, 1),
            Slot("LAB", 0.2, 1, 3),
        ),
    ),
    Profile(
        "op_lab",
        "outpatient",
        "LAB",
        0.22,
        0,
        0.0,
        (),
        (Slot("LAB", 1.0, 3, 10),),
    ),
    Profile(
        "op_cardiology",
        "outpatient",
        "CARD",
        0.10,
        0,
        0.0,
        (),
        (Slot("CARD|EKG", 1.0, 1, 2), Slot("CLINIC_VISIT", 0.5, 1, 1), Slot("LAB", 0.4, 2, 4)),
    ),
    Profile(
        "op_therapy",
        "outpatient",
        "PT",
        0.08,
        0,
        0.0,
        (),
        (Slot("PT", 1.0, 2, 4, False, 1, 4),),
    ),
    Profile(
        "ambulatory_surgery",
        "ambulatory_surgery",
        "OR",
        1.0,
        0,
        0.0,
        (),
        (
            *_SURGERY,
            Slot("IMPLANT", 0.3, 1, 1),
            Slot("PHARM_J", 1.0, 2, 5, False, 1, 2),
            Slot("PHARM_GEN", 0.8, 1, 2, False, 1, 3),
            Slot("SUPPLY_GEN", 1.0, 2, 5),
            Slot("LAB", 0.4, 1, 3),
            Slot("IV_THER", 0.4, 1, 2),
            Slot("EKG", 0.25, 1, 1),
        ),
    ),
)

# Chargemaster groups an unsupported line or a missed charge is drawn from.
DEFECT_GROUPS = ("LAB", "IMG_XR", "IMG_US", "PHARM_J", "IV_THER", "RESP", "EKG")
# Groups whose lines carry the attending NPI as rendering_npi.
_RENDERING_GROUPS = ("ED_VISIT", "OR_PROC", "PROF_ADMIT", "PROF_DAILY", "CLINIC_VISIT", "CARD")
_LATERAL_CODES = ("27447", "29881", "27130", "64721", "66984")
_MODIFIERS = (None, ["25"], ["RT"], ["LT"], ["GP"])

# Common diagnoses (billable ICD-10-CM, no dots), most frequent first; Zipf-weighted together
# with random billable codes up to COMMON_POOL, plus a uniform long tail over every code.
COMMON_DX = (
    "I10 E119 E785 Z7901 J189 N179 N390 I4891 J449 E1122 I2510 F329 K219 E039 Z87891 M5450 "
    "R0789 R079 R109 R1013 R519 J069 J029 J209 J40 U071 A419 I214 I5033 I509 I639 K8000 "
    "K5790 K5900 N189 E871 E876 D649 D62 R55 R42 R509 R6889 S0990XA S72001A S52501A S8290XA "
    "S6990XA S060X0A T401X1A F1020 F17210 Z794 Z9181 Z23 Z0000 Z0001 Z1231 Z1211 O80 Z3800 "
    "M1711 M1712 M170 M1611 M25561 M79604 G4733 G43909 G40909 H2513 H2512 H269 L03115 L0390 "
    "R531 R5383 E6601 Z6841 B349 A084 J45909 J45901 I480 I4820 R002 R0602 R0600 R051 R0902 "
    "R112 R110 R197 R300 Z515 Z5111 C50911 C3490 C61 C189 D509 E1165 E1140 E11649 I110 I130 "
    "N186 N185 K3580 K37 K4090 K429 M48061 M5416 M5126 S3210XA S2220XA R739 R7303 E559 E538 "
    "E782 E7800 G8929 G894 G4700 F419 F411 F1120 F10239 N400 N401 R3915 R351 L089 L97919"
).split()
COMMON_POOL = 400
COMMON_SHARE = 0.85
ZIPF_EXPONENT = 1.05


@dataclass(frozen=True)
class Clinical:
    """The clinical extracts and claims of one run (see docs/generator-design.md).

    encounter_versions: every encounter row written: contract columns (lists as list[str],
        timestamps naive local time) plus `file_date` and label columns prefixed `_`
        (identical on every version of an encounter; never written to files):
        _unsupported_dx_code / _missed_dx_code / _invalid_dx_code (the header billed for the
        documented principal) / _missed_px_code / _unsupported_px_code (set once that line is
        written): the code or null; _missed_px_unit_charge_cents (the code's unit charge at
        the facility, null when no line there charges it); _unsigned_note, _missing_element:
        bool, true only once final billed in the window; _missing_element_kind (no_dx, npi_missing,
        npi_check_digit; set even before billing); _coder_error_multiplier.
    charges: every charge line written (posted on or before `end_date`): contract columns with
        charge_amount / cost_amount in Int64 cents, plus `file_date` (= posted_date) and
        `_line_kind` (one of LINE_KINDS).
    claims: one row per encounter final billed inside the window.
    claim_lines: the net lines of each claim (no credit lines and none of the lines they reverse).
    """

    encounter_versions: pl.DataFrame
    charges: pl.DataFrame
    claims: pl.DataFrame
    claim_lines: pl.DataFrame
    config: ClinicalConfig
    start_date: dt.date
    end_date: dt.date

    def latest_encounters(self) -> pl.DataFrame:
        """One row per encounter: the version with the newest updated_at (as a warehouse keeps)."""
        cached = self.__dict__.get("_latest")
        if cached is None:
            cached = (
                self.encounter_versions.sort("encounter_id", "updated_at")
                .group_by("encounter_id", maintain_order=True)
                .last()
            )
            object.__setattr__(self, "_latest", cached)
        return cached


# --------------------------------------------------------------------------- code universe


@lru_cache(maxsize=1)
def _dx_universe() -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    """Billable ICD-10-CM codes and, for each, its nearest header ancestor that is not of
    CPT/HCPCS form (so a billed header is always invalid), or None."""
    from rcm.reference.icd10cm import billable_codes, header_codes

    billable = billable_codes()
    headers = set(header_codes())
    parents: list[str | None] = []
    for code in billable:
        parent = None
        for cut in range(len(code) - 1, 2, -1):
            candidate = code[:cut]
            if candidate in headers and not HCPCS_FORM.match(candidate):
                parent = candidate
                break
        parents.append(parent)
    return billable, tuple(parents)


def _list_series(owner: np.ndarray, values: pa.Array, n: int, name: str) -> pl.Series:
    """A list[str] Series of length n from values grouped by a sorted owner index."""
    counts = np.bincount(owner, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    array = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values)
    return pl.Series(name, array)


def _unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort based; numpy's hash-based unique is slow on large arrays)."""
    s = np.sort(values)
    return s[np.r_[True, s[1:] != s[:-1]]] if s.size else s


def _first_index(values: np.ndarray) -> np.ndarray:
    """Index of the first occurrence of each distinct value, ordered by value."""
    order = np.argsort(values, kind="stable")
    s = values[order]
    return order[np.r_[True, s[1:] != s[:-1]]] if s.size else order


def _member(values: np.ndarray, sorted_unique: np.ndarray) -> np.ndarray:
    """values in sorted_unique (a sorted array of distinct values)."""
    if sorted_unique.size == 0:
        return np.zeros(values.size, dtype=bool)
    idx = np.minimum(np.searchsorted(sorted_unique, values), sorted_unique.size - 1)
    return sorted_unique[idx] == values


def _choose(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with the given (unnormalised) weights."""
    cdf = np.cumsum(weights, dtype=np.float64)
    return np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right").astype(np.int64)


def _pick_within(
    rng: np.random.Generator, group: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """For each row, a uniform member of its group's block [starts, starts + counts)."""
    c = counts[group]
    return starts[group] + np.minimum((rng.random(group.size) * c).astype(np.int64), c - 1)


def _to_dates(offsets: np.ndarray, start: dt.date) -> pl.Series:
    base = (start - _EPOCH).days
    return pl.Series((offsets + base).astype(np.int32)).cast(pl.Date)


def _to_datetimes(seconds: np.ndarray, start: dt.date, visible: np.ndarray) -> pl.Series:
    base = (start - _EPOCH).days * DAY
    us = (seconds.astype(np.int64) + base) * 1_000_000
    s = pl.Series(np.where(visible, us, 0)).cast(pl.Datetime("us"))
    return pl.select(pl.when(pl.Series(visible)).then(s)).to_series()


# ------------------------------------------------------------------------------- simulate


def simulate_clinical(
    world: World,
    n: int,
    seed: int,
    start_date: dt.date,
    days: int,
    config: ClinicalConfig = DEFAULT_CONFIG,
) -> Clinical:
    """Simulate `n` encounters admitted over `days` days from `start_date`, cut as of the last day.

    Deterministic for (world, n, seed, start_date, days, config).
    """
    if n <= 0 or days <= 0:
        raise ValueError("n and days must be positive")
    rng = np.random.default_rng([seed, 11])
    last = days - 1  # day offset of the as-of date
    cutoff = np.int64(days) * DAY  # first second after the window

    fac = world.facilities
    n_fac = fac.height
    fac_ids = fac["facility_id"]
    types = np.array(ENCOUNTER_TYPES)

    # ---- encounters: type, profile, facility, department --------------------------------
    etype = _choose(rng, np.asarray(config.encounter_mix, dtype=np.float64), n)
    profile = np.zeros(n, dtype=np.int64)
    facility = np.zeros(n, dtype=np.int64)
    for t, tname in enumerate(ENCOUNTER_TYPES):
        mask = etype == t
        m = int(mask.sum())
        if m == 0:
            continue
        pidx = np.array([i for i, p in enumerate(PROFILES) if p.encounter_type == tname])
        pw = np.array([PROFILES[i].weight for i in pidx])
        profile[mask] = pidx[_choose(rng, pw, m)]
        facility[mask] = _choose(rng, fac[f"share_{tname}"].to_numpy(), m)

    dept = world.departments
    dept_ids = dept["department_id"]
    dept_types = sorted(set(dept["department_type"].to_list()))
    dt_index = {d: i for i, d in enumerate(dept_types)}
    fac_index = {f: i for i, f in enumerate(fac_ids.to_list())}
    dept_lookup = np.full((n_fac, len(dept_types)), -1, dtype=np.int64)
    for i, (f, d) in enumerate(zip(dept["facility_id"], dept["department_type"], strict=True)):
        dept_lookup[fac_index[f], dt_index[d]] = i
    prof_dt = np.array([dt_index[p.department_type] for p in PROFILES])
    enc_dept = dept_lookup[facility, prof_dt[profile]]
    if (enc_dept < 0).any():
        raise ValueError("a facility lacks the department its encounter profile needs")

    # ---- dates: admit, length of stay, discharge ------------------------------------------
    admit = rng.integers(0, days, n)
    los_min = np.array([p.los_min for p in PROFILES])[profile]
    los_extra = np.array([p.los_extra for p in PROFILES])[profile]
    extra = np.where(
        los_extra > 0, rng.geometric(1.0 / (1.0 + np.maximum(los_extra, 1e-9)), n) - 1, 0
    )
    los = los_min + np.minimum(extra, 45)
    disch = admit + los
    is_ip = etype == 0
    days_billed = np.where(is_ip, np.maximum(los, 1), los + 1)
    admit_s = admit * DAY + rng.integers(0, 22 * 3600, n)
    disch_s = np.maximum(admit_s + 1800, disch * DAY + 10 * 3600 + rng.integers(0, 8 * 3600, n))

    # ---- patients, payers, providers, coders ---------------------------------------------
    n_pat = max(1, int(n * config.patients_per_encounter))
    patient = rng.integers(0, n_pat, n)
    age_group = _choose(rng, np.array([0.18, 0.50, 0.32]), n_pat)
    age_lo = np.array([0, 18, 65])[age_group]
    age_hi = np.array([18, 65, 96])[age_group]
    age_days = ((age_lo + rng.random(n_pat) * (age_hi - age_lo)) * 365.25).astype(np.int64)
    birth_off = -age_days
    sex_codes = np.array(["F", "M", "U"])
    pat_sex = _choose(rng, np.array([0.53, 0.468, 0.002]), n_pat)
    enc_age_days = admit - birth_off[patient]
    senior = enc_age_days >= int(65 * 365.25)

    payer_ids = world.payers["payer_id"].to_list()
    payer = np.zeros(n, dtype=np.int64)
    for mask, mix in ((~senior, config.payer_mix_under_65), (senior, config.payer_mix_65_plus)):
        ids = np.array([payer_ids.index(p) for p, _ in mix])
        payer[mask] = ids[_choose(rng, np.array([w for _, w in mix]), int(mask.sum()))]

    prov = world.providers.with_columns(
        pl.col("facility_id").replace_strict(fac_index, return_dtype=pl.Int64).alias("_f")
    ).sort("_f", maintain_order=True)
    prov_fac = prov["_f"].to_numpy()
    prov_counts = np.bincount(prov_fac, minlength=n_fac)
    prov_starts = np.concatenate([[0], np.cumsum(prov_counts)[:-1]])
    provider = _pick_within(rng, facility, prov_starts, prov_counts)

    coders = world.coders
    n_coders = coders.height
    home = coders["home_facility_id"].to_list()
    order = sorted(range(n_coders), key=lambda i: (home[i] is None, fac_index.get(home[i], 0)))
    home_fac = np.array([fac_index[home[i]] if home[i] is not None else -1 for i in order])
    c_counts = np.bincount(home_fac[home_fac >= 0], minlength=n_fac)
    c_starts = np.concatenate([[0], np.cumsum(c_counts)[:-1]])
    coder_sorted = _pick_within(rng, facility, c_starts, np.maximum(c_counts, 1))
    anyone = (rng.random(n) >= config.coder_home_share) | (c_counts[facility] == 0)
    coder_sorted = np.where(anyone, rng.integers(0, n_coders, n), coder_sorted)
    coder = np.array(order)[coder_sorted]
    mult = coders["error_multiplier"].to_numpy()[coder]

    # ---- documented diagnoses -------------------------------------------------------------
    billable, parents = _dx_universe()
    hcpcs_all = set(world.chargemaster["hcpcs_code"].drop_nulls().to_list())
    universe = [c for c in billable if c not in hcpcs_all]
    uni_index = {c: i for i, c in enumerate(universe)}
    parent_of = dict(zip(billable, parents, strict=True))
    header_list = sorted({parent_of[c] for c in universe if parent_of[c] is not None})
    header_index = {h: i for i, h in enumerate(header_list)}
    n_uni = len(universe)
    code_strings = pa.array(universe + header_list, pa.string())
    header_of = np.array(
        [n_uni + header_index[parent_of[c]] if parent_of[c] else -1 for c in universe]
    )
    curated = [uni_index[c] for c in COMMON_DX if c in uni_index]
    rest = np.setdiff1d(np.arange(n_uni), curated)
    filler = rng.choice(rest, size=max(0, COMMON_POOL - len(curated)), replace=False)
    common = np.concatenate([np.array(curated, dtype=np.int64), filler.astype(np.int64)])
    zipf = 1.0 / np.arange(1, common.size + 1) ** ZIPF_EXPONENT

    def draw_dx(size: int) -> np.ndarray:
        tail = rng.random(size) >= COMMON_SHARE
        out = common[_choose(rng, zipf, size)]
        out[tail] = rng.integers(0, n_uni, int(tail.sum()))
        return out

    kdx_lo = np.array([3, 1, 1, 2, 1])[etype]
    kdx_hi = np.array([9, 4, 3, 5, 3])[etype]
    kdx = rng.integers(kdx_lo, kdx_hi + 1)
    dx_owner = np.repeat(np.arange(n), kdx)
    dx_code = draw_dx(dx_owner.size)
    first = np.sort(_first_index(dx_owner * n_uni + dx_code))
    dx_owner, dx_code = dx_owner[first], dx_code[first]

    # missing elements (labels apply once the encounter is final billed)
    missing = rng.random(n) < config.missing_element_rate
    me_kind_draw = rng.random(n)
    no_dx = missing & (me_kind_draw < config.missing_element_no_dx_share)
    npi_bad = missing & ~no_dx
    npi_null = npi_bad & (me_kind_draw < (1 + config.missing_element_no_dx_share) / 2)
    keep = ~no_dx[dx_owner]
    dx_owner, dx_code = dx_owner[keep], dx_code[keep]
    kdx = np.bincount(dx_owner, minlength=n)
    dx_start = np.concatenate([[0], np.cumsum(kdx)[:-1]])
    dx_pos = np.arange(dx_owner.size) - dx_start[dx_owner]

    # coding defects (per encounter, scaled by the coder's multiplier)
    has_dx = kdx > 0
    principal = np.where(has_dx, dx_code[np.minimum(dx_start, max(dx_code.size - 1, 0))], -1)
    invalid = (
        has_dx
        & (rng.random(n) < config.invalid_dx_rate * mult)
        & (header_of[np.maximum(principal, 0)] >= 0)
    )
    missed_dx = (kdx >= 2) & (rng.random(n) < config.missed_dx_rate * mult)
    unsup_dx_draw = has_dx & (rng.random(n) < config.unsupported_dx_rate * mult)
    unsup_dx_code = np.full(n, -1, dtype=np.int64)
    pending = np.flatnonzero(unsup_dx_draw)
    doc_keys = _unique(dx_owner * n_uni + dx_code)
    for _ in range(3):
        if pending.size == 0:
            break
        cand = draw_dx(pending.size)
        clash = _member(pending * n_uni + cand, doc_keys)
        unsup_dx_code[pending[~clash]] = cand[~clash]
        pending = pending[clash]

    # billed dx (long): documented minus missed, principal -> header when invalid, + unsupported
    drop = missed_dx[dx_owner] & (dx_pos == kdx[dx_owner] - 1)
    b_owner = dx_owner[~drop]
    b_code = dx_code[~drop].copy()
    b_pos = dx_pos[~drop]
    swap = invalid[b_owner] & (b_pos == 0)
    b_code[swap] = header_of[b_code[swap]]
    extra_owner = np.flatnonzero(unsup_dx_code >= 0)
    b_owner = np.concatenate([b_owner, extra_owner])
    b_code = np.concatenate([b_code, unsup_dx_code[extra_owner]])
    order_b = np.argsort(b_owner, kind="stable")
    b_owner, b_code = b_owner[order_b], b_code[order_b]

    # ---- charge lines ---------------------------------------------------------------------
    cm = world.chargemaster
    n_cdm = cm.height
    cm_group = cm["charge_group"].to_list()
    cm_weight = cm["weight"].to_numpy()
    has_hcpcs = cm["hcpcs_code"].is_not_null().to_numpy()

    def items_of(groups: str) -> np.ndarray:
        names = set(groups.split("|"))
        return np.array([i for i, g in enumerate(cm_group) if g in names], dtype=np.int64)

    l_enc_parts: list[np.ndarray] = []
    l_cdm_parts: list[np.ndarray] = []
    l_day_parts: list[np.ndarray] = []
    l_units_parts: list[np.ndarray] = []
    for pi, prof in enumerate(PROFILES):
        members = np.flatnonzero(profile == pi)
        if members.size == 0:
            continue
        for slot in prof.slots:
            items = items_of(slot.groups)
            g = items.size
            present = rng.random(members.size) < slot.p
            es = members[present]
            if es.size == 0:
                continue
            db = days_billed[es]
            k = rng.integers(slot.kmin, min(slot.kmax, g) + 1, es.size)
            nl = k * db if slot.per_day else k
            total = int(nl.sum())
            rep = np.repeat(np.arange(es.size), nl)
            j = np.arange(total) - np.repeat(np.cumsum(nl) - nl, nl)
            kk = k[rep]
            pos = j % kk
            if slot.per_day:
                day = j // kk
            else:
                day = (rng.random(es.size) * db).astype(np.int64)[rep]
            start = _choose(rng, cm_weight[items], es.size)
            steps = np.array([s for s in range(1, g + 1) if math.gcd(s, g) == 1])
            step = steps[rng.integers(0, steps.size, es.size)]
            item = items[(start[rep] + pos * step[rep]) % g]
            l_enc_parts.append(es[rep])
            l_cdm_parts.append(item)
            l_day_parts.append(admit[es][rep] + day)
            l_units_parts.append(rng.integers(slot.umin, slot.umax + 1, total))

    l_enc = np.concatenate(l_enc_parts)
    l_cdm = np.concatenate(l_cdm_parts)
    l_svc = np.concatenate(l_day_parts)
    l_units = np.concatenate(l_units_parts)

    # unsupported line / missed charge codes: from the defect pool, never on the encounter
    pool = items_of("|".join(DEFECT_GROUPS))
    pool = pool[has_hcpcs[pool]]
    if pool.size > 63:
        raise ValueError("the defect pool must hold at most 63 chargemaster items")
    pool_bit = np.zeros(n_cdm, dtype=np.uint64)
    pool_bit[pool] = np.left_shift(np.uint64(1), np.arange(pool.size, dtype=np.uint64))
    # per encounter, a bit mask of the pool items among its generated lines
    generated = np.zeros(n, dtype=np.uint64)
    line_bits = pool_bit[l_cdm]
    on = line_bits != 0
    np.bitwise_or.at(generated, l_enc[on], line_bits[on])

    def undocumented_codes(rate: float, avoid: np.ndarray) -> np.ndarray:
        chosen = np.full(n, -1, dtype=np.int64)
        pending = np.flatnonzero(rng.random(n) < rate)
        for _ in range(4):
            if pending.size == 0:
                break
            cand = pool[rng.integers(0, pool.size, pending.size)]
            clash = ((generated[pending] & pool_bit[cand]) != 0) | (cand == avoid[pending])
            chosen[pending[~clash]] = cand[~clash]
            pending = pending[clash]
        return chosen

    unsup_cdm = undocumented_codes(config.unsupported_charge_rate, np.full(n, -1))
    missed_cdm = undocumented_codes(config.missed_charge_rate, unsup_cdm)
    u_enc = np.flatnonzero(unsup_cdm >= 0)
    u_svc = admit[u_enc] + (rng.random(u_enc.size) * days_billed[u_enc]).astype(np.int64)

    n_base = l_enc.size
    l_enc = np.concatenate([l_enc, u_enc])
    l_cdm = np.concatenate([l_cdm, unsup_cdm[u_enc]])
    l_svc = np.concatenate([l_svc, u_svc])
    l_units = np.concatenate([l_units, np.ones(u_enc.size, dtype=np.int64)])
    nb = l_enc.size
    kind = np.full(nb, _CLEAN, dtype=np.int8)
    kind[n_base:] = _UNSUPPORTED
    u = rng.random(nb)
    base = kind == _CLEAN
    kind[base & (u < config.late_charge_rate)] = _LATE
    kind[
        base
        & (u >= config.late_charge_rate)
        & (u < config.late_charge_rate + config.charge_reversal_rate)
    ] = _REVERSED

    # the coded diagnoses ride on one hcpcs line per encounter (and its credit / re-post)
    hc_line = has_hcpcs[l_cdm]
    dx_mode = np.zeros(nb, dtype=np.int8)
    hc_idx = np.flatnonzero(hc_line & (kind != _UNSUPPORTED))
    anchor = np.full(n, -1, dtype=np.int64)
    np.maximum.at(anchor, l_enc[hc_idx], hc_idx)
    dx_mode[anchor[anchor >= 0]] = 1

    # posting dates
    clean_lag = _choose(rng, np.array([0.55, 0.30, 0.10, 0.05]), nb)
    posted = l_svc + clean_lag
    rev = kind == _REVERSED
    posted[rev] = l_svc[rev] + rng.integers(0, 2, int(rev.sum()))
    late = kind == _LATE
    late_enc = l_enc[late]
    ref = np.where(is_ip[late_enc], disch[late_enc], l_svc[late])
    posted[late] = ref + config.bill_hold_days + 1 + rng.integers(0, 10, late_enc.size)

    # money: facility price x units; direct cost for some supplies/drugs lines
    mult_f = fac["price_multiplier"].to_numpy()
    price = np.rint(
        cm["unit_price_cents"].to_numpy()[None, :].astype(np.float64) * mult_f[:, None]
    ).astype(np.int64)
    l_fac = facility[l_enc]
    unit_price = price[l_fac, l_cdm]
    cost_cat = cm["cost_category"].to_list()
    direct_cat = np.array([c in ("supplies", "drugs") for c in cost_cat])
    has_cost = direct_cat[l_cdm] & (rng.random(nb) < config.direct_cost_rate)
    costed = np.flatnonzero(has_cost)
    ratio = cm["default_cost_ratio"].to_numpy()[l_cdm[costed]] * rng.uniform(
        0.85, 1.15, costed.size
    )
    unit_cost = np.zeros(nb, dtype=np.int64)
    unit_cost[costed] = np.rint(unit_price[costed] * ratio).astype(np.int64)

    rendering_cat = np.array([g in _RENDERING_GROUPS for g in cm_group])
    hcpcs_list = cm["hcpcs_code"].to_list()
    modifier = np.zeros(nb, dtype=np.int8)
    lateral = np.array([h in _LATERAL_CODES for h in hcpcs_list])[l_cdm]
    modifier[lateral] = 2 + rng.integers(0, 2, int(lateral.sum()))
    ed = np.array([g == "ED_VISIT" for g in cm_group])[l_cdm] & (rng.random(nb) < 0.35)
    modifier[ed] = 1
    modifier[np.array([h in ("97110", "97116", "97140", "97161") for h in hcpcs_list])[l_cdm]] = 4

    units = l_units.copy()
    units[rev] += 1  # the erroneous original
    # derived lines: credit (negated erroneous units) and corrected re-post, same day
    r_idx = np.flatnonzero(rev)
    r_post = posted[r_idx] + rng.integers(1, 3, r_idx.size)
    src = np.concatenate([np.arange(nb), r_idx, r_idx])
    kind_all = np.concatenate(
        [kind, np.full(r_idx.size, _CREDIT, np.int8), np.full(r_idx.size, _REPOST, np.int8)]
    )
    posted_all = np.concatenate([posted, r_post, r_post])
    units_all = np.concatenate([units, -units[r_idx], l_units[r_idx]])
    enc_all = l_enc[src]

    # ---- encounter timeline (coding after the last posting, billing after coding) ---------
    max_post = np.full(n, -1, dtype=np.int64)
    np.maximum.at(max_post, enc_all, posted_all)
    signed_day = disch + _choose(rng, np.array([0.6, 0.3, 0.1]), n)
    signed_s = np.maximum(signed_day * DAY + rng.integers(7 * 3600, 20 * 3600, n), disch_s + 600)
    coded_day = np.maximum(disch + rng.integers(1, 4, n), max_post)
    coded_s = coded_day * DAY + rng.integers(8 * 3600, 12 * 3600, n)
    billed_day = np.maximum(disch + config.bill_hold_days + rng.integers(0, 4, n), coded_day)
    billed_s = billed_day * DAY + rng.integers(13 * 3600, 18 * 3600, n)
    unsigned = rng.random(n) < config.unsigned_note_rate
    never = unsigned & (rng.random(n) < 0.5)
    signed_s = np.where(unsigned, billed_s + rng.integers(DAY, 20 * DAY, n), signed_s)
    signed_s = np.where(never, _NEVER, signed_s)

    vis_coded = coded_s < cutoff
    vis_billed = billed_s < cutoff
    events = np.stack([admit_s, disch_s, signed_s, coded_s, billed_s])
    visible = events < cutoff
    t_last = np.where(visible, events, -1).max(axis=0)

    # ---- versions: the latest plus some intermediate states (one per encounter per day) ---
    v_enc_parts = [np.arange(n)]
    v_t_parts = [t_last]
    for row in range(4):  # admit, discharge, signature, coding
        pick = visible[row] & (events[row] < t_last)
        pick &= rng.random(n) < config.intermediate_version_rate
        v_enc_parts.append(np.flatnonzero(pick))
        v_t_parts.append(events[row][pick])
    v_enc = np.concatenate(v_enc_parts)
    v_t = np.concatenate(v_t_parts)
    v_order = np.lexsort((v_t, v_enc))
    v_enc, v_t = v_enc[v_order], v_t[v_order]
    v_day = v_t // DAY
    keep_v = np.ones(v_enc.size, dtype=bool)
    keep_v[:-1] = ~((v_enc[1:] == v_enc[:-1]) & (v_day[1:] == v_day[:-1]))
    v_enc, v_t, v_day = v_enc[keep_v], v_t[keep_v], v_day[keep_v]

    # ---- cut and order the charge lines ---------------------------------------------------
    written = posted_all <= last
    w_idx = np.flatnonzero(written)
    svc_all = l_svc[src]
    span = int(max(svc_all.max(), posted_all.max())) + 2
    sort_key = (enc_all[w_idx] * span + svc_all[w_idx]) * span + posted_all[w_idx]
    w_idx = w_idx[np.argsort(sort_key, kind="stable")]
    w_src = src[w_idx]
    w_enc = enc_all[w_idx]
    w_kind = kind_all[w_idx]
    w_units = units_all[w_idx]
    w_charge = unit_price[w_src] * w_units
    w_cost_known = has_cost[w_src]
    w_cost = unit_cost[w_src] * w_units
    w_cdm = l_cdm[w_src]
    coded_enc = vis_coded
    w_dx_mode = np.where(coded_enc[w_enc], dx_mode[w_src], 0)

    # documented px: distinct hcpcs of written non-unsupported lines, plus the missed code
    doc_line = hc_line[w_src] & (w_kind != _UNSUPPORTED)
    m_enc = np.flatnonzero(missed_cdm >= 0)
    px_keys = _unique(
        np.concatenate(
            [w_enc[doc_line] * n_cdm + w_cdm[doc_line], m_enc * n_cdm + missed_cdm[m_enc]]
        )
    )
    hcpcs_strings = pa.array(["" if h is None else h for h in hcpcs_list], pa.string())
    doc_px = _list_series(
        px_keys // n_cdm, hcpcs_strings.take(pa.array(px_keys % n_cdm)), n, "documented_px_codes"
    )
    doc_dx = _list_series(dx_owner, code_strings.take(pa.array(dx_code)), n, "documented_dx_codes")
    billed_full = _list_series(b_owner, code_strings.take(pa.array(b_code)), n, "billed_dx_codes")

    # ---- encounter frame (one row per encounter, static columns + labels) ------------------
    prov_npi = prov["provider_npi"].to_list()
    # a failing check digit: the right one plus 5 (mod 10)
    prov_bad = [npi[:9] + str((int(npi[9]) + 5) % 10) for npi in prov_npi]
    att_choice = np.where(npi_bad, provider + len(prov_npi), provider)
    att = pl.Series(prov_npi + prov_bad, dtype=pl.String).gather(
        pl.Series(np.where(npi_null, -1, att_choice)).replace(-1, None)
    )

    enc_idx = pl.Series("i", np.arange(n, dtype=np.int64))
    unsup_written = np.zeros(n, dtype=bool)
    unsup_written[w_enc[w_kind == _UNSUPPORTED]] = True
    billed_in_window = vis_billed
    # every positive line of an item at a facility has the same unit charge (its price there),
    # so the median unit charge of a missed code is that price when it was charged there at all
    charged_at = np.zeros((n_fac, n_cdm), dtype=bool)
    positive = w_units > 0
    charged_at[facility[w_enc[positive]], w_cdm[positive]] = True
    missed_known = (missed_cdm >= 0) & charged_at[facility, np.maximum(missed_cdm, 0)]
    missed_unit = price[facility, np.maximum(missed_cdm, 0)]
    labels = pl.DataFrame(
        {
            "_unsupported_dx_code": _code_or_null(code_strings, unsup_dx_code),
            "_missed_dx_code": _code_or_null(
                code_strings,
                np.where(missed_dx, dx_code[np.maximum(dx_start + kdx - 1, 0)], -1),
            ),
            "_invalid_dx_code": _code_or_null(
                code_strings, np.where(invalid, header_of[np.maximum(principal, 0)], -1)
            ),
            "_missed_px_code": _code_or_null(hcpcs_strings, missed_cdm),
            "_missed_px_unit_charge_cents": pl.select(
                pl.when(pl.Series(missed_known)).then(pl.Series(missed_unit, dtype=pl.Int64))
            ).to_series(),
            "_unsupported_px_code": _code_or_null(
                hcpcs_strings, np.where(unsup_written, unsup_cdm, -1)
            ),
            "_unsigned_note": unsigned & billed_in_window,
            "_missing_element": missing & billed_in_window,
            "_missing_element_kind": pl.Series(
                np.select(
                    [no_dx, npi_null, npi_bad], ["no_dx", "npi_missing", "npi_check_digit"], ""
                )
            ).replace("", None),
            "_coder_error_multiplier": mult,
        }
    )
    enc = pl.DataFrame(
        {
            "encounter_id": pl.select(
                pl.lit("E") + (enc_idx + 1).cast(pl.String).str.zfill(9)
            ).to_series(),
            "patient_id": pl.select(
                pl.lit("MRN") + pl.Series(patient).cast(pl.String).str.zfill(8)
            ).to_series(),
            "patient_birth_date": _to_dates(birth_off[patient], start_date),
            "patient_sex": pl.Series(sex_codes[pat_sex[patient]]),
            "facility_id": fac_ids.gather(facility),
            "department_id": dept_ids.gather(enc_dept),
            "encounter_type": pl.Series(types[etype]),
            "admit_date": _to_dates(admit, start_date),
            "attending_npi": att,
            "primary_payer_id": pl.Series(payer_ids).gather(payer),
            "documented_dx_codes": doc_dx,
            "documented_px_codes": doc_px,
        }
    ).hstack(labels)

    # ---- versions frame ------------------------------------------------------------------
    v_disch = disch_s[v_enc] <= v_t
    v_signed = signed_s[v_enc] <= v_t
    v_coded = coded_s[v_enc] <= v_t
    v_billed = billed_s[v_enc] <= v_t
    disch_date = _to_dates(disch[v_enc], start_date)
    versions = (
        enc[v_enc]
        .with_columns(
            pl.when(pl.Series(v_disch)).then(disch_date).alias("discharge_date"),
            pl.when(pl.Series(v_coded))
            .then(coders["coder_id"].gather(coder[v_enc]))
            .alias("coder_id"),
            _to_datetimes(signed_s[v_enc], start_date, v_signed).alias("note_signed_at"),
            _to_datetimes(coded_s[v_enc], start_date, v_coded).alias("coded_at"),
            _to_datetimes(billed_s[v_enc], start_date, v_billed).alias("final_billed_at"),
            _to_datetimes(v_t, start_date, np.ones(v_t.size, dtype=bool)).alias("updated_at"),
            _to_dates(v_day, start_date).alias("file_date"),
        )
        .select(*EXTRACTS["encounters"].names, "file_date", pl.col("^_.*$"))
    )

    # ---- charges frame ---------------------------------------------------------------------
    dept_type_of_cdm = cm["department_type"].to_list()
    cdm_dt = np.array([dt_index.get(d, -1) if d else -1 for d in dept_type_of_cdm])
    w_fac = facility[w_enc]
    line_dept = np.where(cdm_dt[w_cdm] >= 0, dept_lookup[w_fac, np.maximum(cdm_dt[w_cdm], 0)], -1)
    line_dept = np.where(line_dept >= 0, line_dept, enc_dept[w_enc])
    dx_pick = pl.Series(np.where(w_dx_mode == 1, w_enc, -1))
    mods = pl.Series("m", list(_MODIFIERS), dtype=pl.List(pl.String))
    n_w = w_idx.size
    charge_no = pl.Series(np.arange(1, n_w + 1, dtype=np.int64))
    enc_ids = enc["encounter_id"]
    claim_ids = pl.select(pl.lit("CLM") + (enc_idx + 1).cast(pl.String).str.zfill(9)).to_series()
    per_encounter = pl.DataFrame(
        {
            "encounter_id": enc_ids,
            "claim_id": claim_ids,
            "facility_id": enc["facility_id"],
            "_npi": pl.Series(prov_npi, dtype=pl.String).gather(provider),
        }
    )[w_enc]
    per_cdm = cm.select("cdm_code", "revenue_code", "hcpcs_code", "cost_category")[w_cdm]
    charges = (
        pl.concat([per_encounter, per_cdm], how="horizontal")
        .with_columns(
            pl.concat_str(pl.lit("CHG"), charge_no.cast(pl.String).str.zfill(10)).alias(
                "charge_id"
            ),
            dept_ids.gather(line_dept).alias("department_id"),
            _to_dates(svc_all[w_idx], start_date).alias("service_date"),
            _to_dates(posted_all[w_idx], start_date).alias("posted_date"),
            mods.gather(pl.Series(modifier[w_src].astype(np.int64))).alias("modifiers"),
            pl.Series("units", w_units, dtype=pl.Int64),
            billed_full.gather(pl.select(pl.when(dx_pick >= 0).then(dx_pick)).to_series()).alias(
                "billed_dx_codes"
            ),
            pl.Series("charge_amount", w_charge, dtype=pl.Int64),
            pl.when(pl.Series(w_cost_known))
            .then(pl.Series(w_cost, dtype=pl.Int64))
            .alias("cost_amount"),
            pl.when(pl.Series(rendering_cat[w_cdm])).then(pl.col("_npi")).alias("rendering_npi"),
            pl.Series("_line_kind", LINE_KINDS).gather(w_kind.astype(np.int64)),
        )
        .select(
            "charge_id", "encounter_id", "claim_id", "facility_id", "department_id",
            "service_date", "posted_date", "cdm_code", "revenue_code", "hcpcs_code",
            "modifiers", "units", "billed_dx_codes", "charge_amount", "cost_amount",
            "cost_category", "rendering_npi", pl.col("posted_date").alias("file_date"),
            "_line_kind",
        )
    )  # fmt: skip

    # ---- claims ----------------------------------------------------------------------------
    claims, claim_lines = _claims(
        world,
        enc,
        charges,
        w_enc,
        w_kind,
        w_charge,
        billed_in_window,
        is_ip,
        profile,
        facility,
        fac,
        admit,
        disch,
        billed_day,
        start_date,
        rng,
        claim_ids,
    )
    return Clinical(
        encounter_versions=versions,
        charges=charges,
        claims=claims,
        claim_lines=claim_lines,
        config=config,
        start_date=start_date,
        end_date=start_date + dt.timedelta(days=last),
    )


def _code_or_null(strings: pa.Array, idx: np.ndarray) -> pl.Series:
    """Strings at idx, null where idx < 0."""
    mask = pa.array(idx < 0)
    taken = strings.take(pa.array(np.maximum(idx, 0)))
    return pl.Series(pc.if_else(mask, pa.scalar(None, pa.string()), taken))


def _claims(
    world: World,
    enc: pl.DataFrame,
    charges: pl.DataFrame,
    w_enc: np.ndarray,
    w_kind: np.ndarray,
    w_charge: np.ndarray,
    billed: np.ndarray,
    is_ip: np.ndarray,
    profile: np.ndarray,
    facility: np.ndarray,
    fac: pl.DataFrame,
    admit: np.ndarray,
    disch: np.ndarray,
    billed_day: np.ndarray,
    start_date: dt.date,
    rng: np.random.Generator,
    claim_ids: pl.Series,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Claims of the encounters final billed in the window and their net claim lines."""
    net = billed[w_enc] & (w_kind != _REVERSED) & (w_kind != _CREDIT)
    li = np.flatnonzero(net)
    l_enc = w_enc[li]
    starts = np.flatnonzero(np.r_[True, l_enc[1:] != l_enc[:-1]]) if li.size else li
    line_no = np.arange(li.size) - np.repeat(starts, np.diff(np.r_[starts, li.size]))
    claim_lines = (
        charges.select(
            "claim_id",
            "charge_id",
            "service_date",
            "revenue_code",
            "hcpcs_code",
            "modifiers",
            "units",
            pl.col("charge_amount").alias("charge_cents"),
        )[li]
        .with_columns(pl.Series("line_number", line_no + 1, dtype=pl.Int64))
        .select("claim_id", "line_number", pl.exclude("claim_id", "line_number"))
    )
    # float64 sums of integer cents are exact far beyond any claim total
    total = np.rint(
        np.bincount(l_enc, weights=w_charge[li].astype(np.float64), minlength=enc.height)
    ).astype(np.int64)

    b = np.flatnonzero(billed)
    drg = np.full(enc.height, "", dtype=object)
    for pi, prof in enumerate(PROFILES):
        if not prof.drgs:
            continue
        members = np.flatnonzero((profile == pi) & billed)
        drg[members] = np.array(prof.drgs, dtype=object)[
            rng.integers(0, len(prof.drgs), members.size)
        ]
    asc = (fac["facility_type"] == "ambulatory_surgery_center").to_numpy()[facility]
    ftc = np.where(is_ip, "11", np.where(asc, "83", "13"))
    claims = (
        enc[b]
        .select(
            claim_ids.gather(b).alias("claim_id"),
            "encounter_id",
            "patient_id",
            "facility_id",
            pl.col("primary_payer_id").alias("payer_id"),
            "encounter_type",
            pl.Series("facility_type_code", ftc[b]),
            pl.lit("1").alias("frequency_code"),
            pl.Series("drg_code", drg[b], dtype=pl.String).replace("", None),
            _to_dates(admit[b], start_date).alias("statement_from"),
            _to_dates(disch[b], start_date).alias("statement_to"),
            _to_dates(billed_day[b], start_date).alias("billed_date"),
            pl.Series("total_charge_cents", total[b], dtype=pl.Int64),
            "attending_npi",
            "patient_birth_date",
            "patient_sex",
        )
        .join(
            world.facilities.select("facility_id", pl.col("npi").alias("facility_npi")),
            on="facility_id",
            how="left",
        )
    )
    return claims, claim_lines
