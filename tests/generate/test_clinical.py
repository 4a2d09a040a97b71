"""The clinical half of the generator: determinism, valid codes, injected rates, and truth == data.

The key check: the label-based truth of rcm.generate.truth equals the marts recomputed here
from the contract columns only (plain Python over the frames, no `_` label columns).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import polars as pl
import pytest

from rcm.generate.clinical import Clinical, simulate_clinical
from rcm.generate.config import DEFAULT_CONFIG
from rcm.generate.truth import coding_accuracy_truth, cost_burden_truth, documentation_gaps_truth
from rcm.generate.world import World, build_world
from rcm.npi import is_valid_npi
from rcm.reference import read_reference
from rcm.reference.icd10cm import billable_codes, header_codes

SEED = 7
N = 2000
START = dt.date(2026, 1, 1)
DAYS = 60
END = START + dt.timedelta(days=DAYS - 1)
HCPCS_FORM = re.compile(r"^(\d{5}|[A-Z]\d{4}|\d{4}T)$")


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(SEED)


@pytest.fixture(scope="module")
def clinical(world: World) -> Clinical:
    return simulate_clinical(world, N, SEED, START, DAYS)


@pytest.fixture(scope="module")
def latest(clinical: Clinical) -> pl.DataFrame:
    return clinical.latest_encounters()


def _contract(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.exclude("^_.*$"))


# ----------------------------------------------------------------------------- basics


def test_deterministic_for_a_seed(world: World, clinical: Clinical) -> None:
    again = simulate_clinical(build_world(SEED), N, SEED, START, DAYS)
    for name in ("encounter_versions", "charges", "claims", "claim_lines"):
        assert getattr(again, name).equals(getattr(clinical, name)), name
    other = simulate_clinical(world, N, SEED + 1, START, DAYS)
    assert not other.charges.equals(clinical.charges)


def test_shape_is_believable(world: World, clinical: Clinical, latest: pl.DataFrame) -> None:
    assert latest.height == N
    assert 4 <= world.facilities.height <= 5
    assert 10 <= world.coders.height <= 15
    assert world.providers.height == 40
    mix = dict(latest.group_by("encounter_type").len().iter_rows())
    for etype, share in zip(
        ("inpatient", "emergency", "outpatient", "observation", "ambulatory_surgery"),
        DEFAULT_CONFIG.encounter_mix,
        strict=True,
    ):
        assert abs(mix[etype] / N - share) < 0.03, etype
    per_encounter = clinical.charges.height / N
    assert 12 <= per_encounter <= 18
    payers = world.payers
    assert set(payers["payer_type"]) == {"commercial", "medicare", "medicaid", "self_pay"}
    assert payers.filter(pl.col("payer_type") == "self_pay")["emits_835"].to_list() == [False]


def test_npis_pass_the_check_digit(world: World, clinical: Clinical, latest: pl.DataFrame) -> None:
    assert all(is_valid_npi(n) for n in world.providers["provider_npi"])
    assert all(is_valid_npi(n) for n in world.facilities["npi"])
    assert all(is_valid_npi(n) for n in clinical.charges["rendering_npi"].drop_nulls())
    valid = [is_valid_npi(n) for n in latest["attending_npi"]]
    bad = latest.filter(~pl.Series(valid))
    assert set(bad["_missing_element_kind"]) <= {"npi_missing", "npi_check_digit"}
    assert (
        bad.height
        == latest.filter(
            pl.col("_missing_element_kind").is_in(["npi_missing", "npi_check_digit"])
        ).height
    )


def test_dx_codes_are_billable_except_injected_headers(
    clinical: Clinical, latest: pl.DataFrame
) -> None:
    billable = set(billable_codes())
    headers = set(header_codes())
    documented = latest["documented_dx_codes"].explode().drop_nulls()
    assert documented.is_in(list(billable)).all()
    invalid = dict(latest.select("encounter_id", "_invalid_dx_code").iter_rows())
    billed = (
        clinical.charges.select("encounter_id", "billed_dx_codes")
        .explode("billed_dx_codes")
        .drop_nulls()
        .unique()
    )
    for encounter_id, code in billed.iter_rows():
        if code not in billable:
            assert code == invalid[encounter_id]
            assert code in headers and not HCPCS_FORM.match(code)
    assert latest["_invalid_dx_code"].drop_nulls().len() > 0
    assert (
        latest["documented_px_codes"].explode().drop_nulls().str.contains(HCPCS_FORM.pattern).all()
    )


def test_versions_and_as_of_cut(clinical: Clinical, latest: pl.DataFrame) -> None:
    versions = clinical.encounter_versions
    assert versions.height > latest.height  # some encounters were written more than once
    assert versions.select(pl.struct("encounter_id", "file_date").is_unique().all()).item()
    assert (versions["file_date"] == versions["updated_at"].dt.date()).all()
    assert versions["file_date"].max() <= END
    for column in ("note_signed_at", "coded_at", "final_billed_at", "updated_at"):
        assert versions[column].drop_nulls().dt.date().max() <= END
    # older versions are less advanced than the newest one
    older = versions.join(
        latest.select("encounter_id", pl.col("updated_at").alias("newest")), on="encounter_id"
    ).filter(pl.col("updated_at") < pl.col("newest"))
    assert older.height > 0
    assert older["coded_at"].null_count() > 0
    # the end of the window leaves work in progress
    assert latest["discharge_date"].null_count() > 0
    assert latest["coded_at"].null_count() > 0
    assert latest["final_billed_at"].null_count() > latest["coded_at"].null_count()
    charges = clinical.charges
    assert charges["posted_date"].max() <= END
    assert (charges["posted_date"] >= charges["service_date"]).all()
    assert (charges["file_date"] == charges["posted_date"]).all()
    # coded encounters have all their charges; coding precedes final billing
    coded = latest.filter(pl.col("coded_at").is_not_null())
    last_post = charges.group_by("encounter_id").agg(pl.col("posted_date").max().alias("p"))
    joined = coded.join(last_post, on="encounter_id", how="left")
    assert (joined["p"] <= joined["coded_at"].dt.date()).all()
    billed = latest.filter(pl.col("final_billed_at").is_not_null())
    assert (billed["final_billed_at"] > billed["coded_at"]).all()


def test_claims_and_claim_lines(clinical: Clinical, latest: pl.DataFrame) -> None:
    claims, lines, charges = clinical.claims, clinical.claim_lines, clinical.charges
    billed = latest.filter(pl.col("final_billed_at").is_not_null())
    assert sorted(claims["encounter_id"]) == sorted(billed["encounter_id"])
    assert claims["claim_id"].is_unique().all()
    assert (claims["billed_date"] <= END).all()
    assert set(claims["frequency_code"]) == {"1"}
    ftc = dict(zip(claims["encounter_type"], claims["facility_type_code"], strict=True))
    assert ftc["inpatient"] == "11" and ftc["emergency"] == "13"
    assert set(claims.filter(pl.col("facility_id") == "F04")["facility_type_code"]) == {"83"}
    assert claims.filter(pl.col("encounter_type") == "inpatient")["drg_code"].null_count() == 0
    assert claims.filter(pl.col("encounter_type") != "inpatient")["drg_code"].null_count() == (
        claims.filter(pl.col("encounter_type") != "inpatient").height
    )
    assert "SELF" in set(claims["payer_id"])
    sums = lines.group_by("claim_id").agg(pl.col("charge_cents").sum().alias("s"))
    check = claims.join(sums, on="claim_id", how="left")
    assert (check["s"] == check["total_charge_cents"]).all()
    all_lines = charges.group_by("claim_id").agg(pl.col("charge_amount").sum().alias("a"))
    check = claims.join(all_lines, on="claim_id", how="left")
    assert (check["a"] == check["total_charge_cents"]).all()
    assert (lines["charge_cents"] > 0).all()
    assert lines.select(pl.struct("claim_id", "line_number").is_unique().all()).item()
    # net lines: no credits, no reversed originals, corrected re-posts included
    kinds = lines.join(charges.select("charge_id", "_line_kind"), on="charge_id")
    assert not set(kinds["_line_kind"]) & {"credit", "reversed"}
    assert "repost" in set(kinds["_line_kind"])
    # every charge line carries the claim id of its encounter (assigned at creation)
    assert (
        charges.select(pl.col("claim_id").n_unique()).item()
        == charges.select(pl.col("encounter_id").n_unique()).item()
    )


# ----------------------------------------------------------------------- injected rates


def _within(observed: int, expected: float, label: str) -> None:
    sd = math.sqrt(max(expected, 1.0))
    assert abs(observed - expected) <= 4 * sd + 2, f"{label}: {observed} vs {expected:.1f}"


def test_injected_rates_match_config(clinical: Clinical, latest: pl.DataFrame) -> None:
    cfg = clinical.config
    coded = latest.filter(pl.col("coded_at").is_not_null())
    mult = coded["_coder_error_multiplier"].to_numpy()
    n_dx = coded["documented_dx_codes"].list.len().fill_null(0).to_numpy()
    has_dx = n_dx > 0
    _within(
        coded["_unsupported_dx_code"].drop_nulls().len(),
        float(np.minimum(cfg.unsupported_dx_rate * mult, 1)[has_dx].sum()),
        "unsupported dx",
    )
    _within(
        coded["_missed_dx_code"].drop_nulls().len(),
        float(np.minimum(cfg.missed_dx_rate * mult, 1)[n_dx >= 2].sum()),
        "missed dx",
    )
    from rcm.generate.clinical import _dx_universe

    codes, parents = _dx_universe()
    has_header = dict(zip(codes, (p is not None for p in parents), strict=True))
    eligible = np.array(
        [bool(d) and has_header[d[0]] for d in coded["documented_dx_codes"].to_list()]
    )
    _within(
        coded["_invalid_dx_code"].drop_nulls().len(),
        float(np.minimum(cfg.invalid_dx_rate * mult, 1)[eligible].sum()),
        "invalid dx",
    )
    _within(
        latest["_missed_px_code"].drop_nulls().len(), cfg.missed_charge_rate * N, "missed charge"
    )
    _within(
        coded["_unsupported_px_code"].drop_nulls().len(),
        cfg.unsupported_charge_rate * coded.height,
        "unsupported charge",
    )
    billed = latest.filter(pl.col("final_billed_at").is_not_null())
    _within(int(billed["_unsigned_note"].sum()), cfg.unsigned_note_rate * billed.height, "unsigned")
    _within(
        int(billed["_missing_element"].sum()),
        cfg.missing_element_rate * billed.height,
        "missing element",
    )
    lines = clinical.charges.filter(pl.col("encounter_id").is_in(coded["encounter_id"].implode()))
    kinds = dict(lines.group_by("_line_kind").len().iter_rows())
    base = kinds["clean"] + kinds["late"] + kinds["reversed"]
    _within(kinds["late"], cfg.late_charge_rate * base, "late")
    _within(kinds["reversed"], cfg.charge_reversal_rate * base, "reversal")
    assert kinds["credit"] == kinds["repost"] == kinds["reversed"]


def test_clean_lines_are_clean(clinical: Clinical, latest: pl.DataFrame) -> None:
    """Each line has one label at most: clean lines are not late, credits mirror originals."""
    lines = clinical.charges.join(
        latest.select("encounter_id", "encounter_type", "discharge_date"), on="encounter_id"
    ).with_columns(
        (
            pl.col("posted_date")
            - pl.when(pl.col("encounter_type") == "inpatient")
            .then(pl.col("discharge_date"))
            .otherwise(pl.col("service_date"))
        )
        .dt.total_days()
        .alias("lag")
    )
    is_late = lines["lag"].fill_null(0) > DEFAULT_CONFIG.bill_hold_days
    assert (is_late == (lines["_line_kind"] == "late")).all()
    credits = lines.filter(pl.col("_line_kind") == "credit")
    assert (credits["charge_amount"] < 0).all() and (credits["units"] < 0).all()
    assert (lines.filter(pl.col("_line_kind") != "credit")["charge_amount"] > 0).all()


# ------------------------------------------------- independent recomputation from the data


def _norm(code: str) -> str:
    return code.replace(".", "").strip().upper()


def _month(value: dt.date | dt.datetime) -> dt.date:
    return dt.date(value.year, value.month, 1)


def _latest_rows(clinical: Clinical) -> dict[str, dict]:
    newest: dict[str, dict] = {}
    for row in _contract(clinical.encounter_versions).iter_rows(named=True):
        kept = newest.get(row["encounter_id"])
        if kept is None or row["updated_at"] > kept["updated_at"]:
            newest[row["encounter_id"]] = row
    return newest


def _lines_by_encounter(clinical: Clinical) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for row in _contract(clinical.charges).iter_rows(named=True):
        out[row["encounter_id"]].append(row)
    return out


def test_coding_accuracy_truth_equals_data(clinical: Clinical) -> None:
    billable = set(billable_codes())
    encounters = _latest_rows(clinical)
    lines = _lines_by_encounter(clinical)
    groups: dict[tuple, list[int]] = defaultdict(lambda: [0] * 8)
    for enc in encounters.values():
        if enc["coded_at"] is None:
            continue
        sums: dict[str, int] = defaultdict(int)
        for line in lines[enc["encounter_id"]]:
            carried = {_norm(c) for c in line["billed_dx_codes"] or []}
            if line["hcpcs_code"]:
                carried.add(_norm(line["hcpcs_code"]))
            for code in carried:
                sums[code] += line["charge_amount"]
        b = {code for code, total in sums.items() if total > 0}
        d = {
            _norm(c)
            for c in (enc["documented_dx_codes"] or []) + (enc["documented_px_codes"] or [])
        }
        v = {c for c in b | d if c in billable or HCPCS_FORM.match(c)}
        g = groups[(_month(enc["coded_at"]), enc["facility_id"], enc["coder_id"])]
        accurate = b == d and b <= v
        for i, value in enumerate(
            (
                1,
                int(accurate),
                len(b),
                len(b - v),
                len(b - d),
                len(d - b),
                len(b & d & v),
                len(b | d),
            )
        ):
            g[i] += value
    expected = {key: tuple(values) for key, values in groups.items()}
    truth = coding_accuracy_truth(clinical)
    got = {
        (r["month"], r["facility_id"], r["coder_id"]): (
            r["encounters_coded"],
            r["encounters_accurate"],
            r["codes_billed"],
            r["codes_invalid"],
            r["codes_unsupported"],
            r["codes_missed"],
            r["codes_correct"],
            r["codes_compared"],
        )
        for r in truth.iter_rows(named=True)
    }
    assert got == expected
    totals = truth.select(pl.col("codes_invalid", "codes_unsupported", "codes_missed").sum())
    assert all(v > 0 for v in totals.row(0))
    rate = truth["codes_correct"].sum() / truth["codes_compared"].sum()
    assert 0.85 < rate < 0.995


def test_documentation_gaps_truth_equals_data(clinical: Clinical) -> None:
    hold = 4
    encounters = _latest_rows(clinical)
    lines = _lines_by_encounter(clinical)
    unit_charges: dict[tuple[str, str], list[Fraction]] = defaultdict(list)
    for rows in lines.values():
        for line in rows:
            if line["hcpcs_code"] and line["charge_amount"] > 0 and line["units"] > 0:
                unit_charges[(line["facility_id"], line["hcpcs_code"])].append(
                    Fraction(line["charge_amount"], line["units"])
                )

    def median_cents(key: tuple[str, str]) -> int | None:
        values = sorted(unit_charges.get(key, []))
        if not values:
            return None
        mid = len(values) // 2
        med = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
        return round(med)  # Python rounds half to even

    occurrences: list[tuple] = []  # (month, facility, department, gap, encounter, lines, cents)
    for enc in encounters.values():
        month = _month(enc["discharge_date"] or enc["admit_date"])
        rows = lines[enc["encounter_id"]]
        documented = set(enc["documented_px_codes"] or [])
        charged = {line["hcpcs_code"] for line in rows if line["hcpcs_code"]}
        key = (month, enc["facility_id"])
        for line in rows:
            lkey = (*key, line["department_id"])
            if line["hcpcs_code"] and line["hcpcs_code"] not in documented:
                occurrences.append(
                    (*lkey, "unsupported_charge", enc["encounter_id"], 1, line["charge_amount"])
                )
            ref = (
                enc["discharge_date"]
                if enc["encounter_type"] == "inpatient"
                else line["service_date"]
            )
            if ref is not None and (line["posted_date"] - ref).days > hold:
                occurrences.append(
                    (*lkey, "late_charge", enc["encounter_id"], 1, line["charge_amount"])
                )
        ekey = (*key, enc["department_id"])
        for code in sorted(documented - charged):
            occurrences.append(
                (
                    *ekey,
                    "missed_charge",
                    enc["encounter_id"],
                    0,
                    median_cents((enc["facility_id"], code)),
                )
            )
        total = sum(line["charge_amount"] for line in rows)
        billed_at = enc["final_billed_at"]
        if billed_at is not None:
            signed = enc["note_signed_at"]
            if signed is None or signed > billed_at:
                occurrences.append((*ekey, "unsigned_note", enc["encounter_id"], len(rows), total))
            if not enc["documented_dx_codes"] or not is_valid_npi(enc["attending_npi"]):
                occurrences.append(
                    (*ekey, "missing_element", enc["encounter_id"], len(rows), total)
                )
    expected: dict[tuple, list] = {}
    for month, facility, department, gap, encounter, n_lines, cents in occurrences:
        g = expected.setdefault((month, facility, department, gap), [set(), 0, None])
        g[0].add(encounter)
        g[1] += n_lines
        if cents is not None:
            g[2] = (g[2] or 0) + cents
    expected_rows = {k: (len(v[0]), v[1], v[2]) for k, v in expected.items()}
    truth = documentation_gaps_truth(clinical, bill_hold_days=hold)
    got = {
        (r["month"], r["facility_id"], r["department_id"], r["gap_type"]): (
            r["encounters_affected"],
            r["charge_lines"],
            r["dollars_at_risk_cents"],
        )
        for r in truth.iter_rows(named=True)
    }
    assert got == expected_rows
    assert set(truth["gap_type"]) == {
        "unsupported_charge",
        "missed_charge",
        "unsigned_note",
        "missing_element",
        "late_charge",
    }
    with pytest.raises(ValueError):
        documentation_gaps_truth(clinical, bill_hold_days=7)


def _fake_net_paid(clinical: Clinical) -> pl.DataFrame:
    """A remittance stand-in: most claims paid ~40% of charges, some denied (0), some reversed
    to a negative net, some not remitted yet (absent)."""
    rng = np.random.default_rng(3)
    claims = clinical.claims
    u = rng.random(claims.height)
    ratio = np.where(u < 0.08, 0.0, np.where(u < 0.1, -0.05, rng.uniform(0.2, 0.6, claims.height)))
    frame = pl.DataFrame(
        {
            "claim_id": claims["claim_id"],
            "net_paid_cents": np.rint(claims["total_charge_cents"].to_numpy() * ratio).astype(
                np.int64
            ),
        }
    )
    return frame.filter(pl.Series(u < 0.9))


def test_cost_burden_truth_equals_data(clinical: Clinical) -> None:
    net_paid = _fake_net_paid(clinical)
    families = dict(
        read_reference("revenue_code_families.csv")
        .select("revenue_code_prefix", "revenue_code_family")
        .iter_rows()
    )
    ratios = {
        (f, fam): Decimal(r)
        for f, fam, r in read_reference("cost_to_charge_ratios.csv")
        .select(
            "facility_id", "revenue_code_family", pl.col("cost_to_charge_ratio").cast(pl.String)
        )
        .iter_rows()
    }
    paid = dict(net_paid.iter_rows())
    lines = [row for rows in _lines_by_encounter(clinical).values() for row in rows]
    by_claim: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        by_claim[line["claim_id"]].append(line)
    payment: dict[str, int] = {}
    for claim_id, rows in by_claim.items():
        net = paid.get(claim_id, 0)
        total = sum(r["charge_amount"] for r in rows)
        shares = {}
        for r in rows:
            exact = Fraction(net * r["charge_amount"], total)
            shares[r["charge_id"]] = (
                int(
                    Decimal(exact.numerator / Decimal(exact.denominator)).quantize(
                        Decimal(1), rounding=ROUND_HALF_UP
                    )
                )
                if exact.denominator != 1
                else int(exact)
            )
        top = min(rows, key=lambda r: (-r["charge_amount"], r["charge_id"]))
        shares[top["charge_id"]] += net - sum(shares.values())
        payment.update(shares)
    groups: dict[tuple, list] = {}
    for r in lines:
        if r["cost_amount"] is not None:
            cost = r["cost_amount"]
        else:
            ratio = ratios.get((r["facility_id"], families.get(r["revenue_code"][:3])))
            if ratio is None:
                ratio = ratios[(r["facility_id"], "*")]
            cost = int((Decimal(r["charge_amount"]) * ratio).quantize(Decimal(1), ROUND_HALF_UP))
        key = (_month(r["service_date"]), r["facility_id"], r["department_id"], r["cost_category"])
        g = groups.setdefault(key, [set(), 0, 0, 0])
        g[0].add(r["encounter_id"])
        g[1] += r["charge_amount"]
        g[2] += cost
        g[3] += payment[r["charge_id"]]
    expected = {k: (len(v[0]), v[1], v[2], v[3], v[3] - v[2]) for k, v in groups.items()}
    truth = cost_burden_truth(clinical, net_paid)
    got = {
        (r["month"], r["facility_id"], r["department_id"], r["cost_category"]): (
            r["encounters"],
            r["charges_cents"],
            r["cost_cents"],
            r["payments_cents"],
            r["margin_cents"],
        )
        for r in truth.iter_rows(named=True)
    }
    assert got == expected
    assert truth["payments_cents"].sum() == net_paid["net_paid_cents"].sum()
    assert set(truth["cost_category"]) >= {"supplies", "drugs", "room_and_board", "other"}
