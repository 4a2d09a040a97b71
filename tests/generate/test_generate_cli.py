"""`rcm generate` end to end: the landing folder of the contracts, valid 835s, same seed same
bytes, and truth.json checked against what the written files actually contain.

The checks here read only the written files (CSV and 835 text) and recompute each quantity
independently with polars and a minimal 835 reader; they never use the generator's frames.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest
from x12valid import covering_files, invalid_files, variants, x12valid_path

from rcm.generate.x12 import DELIMITER_STYLES, ENVELOPE_LAYOUTS
from rcm.reference.icd10cm import billable_codes

ENCOUNTERS, SEED = 2000, 11

_spec = importlib.util.spec_from_file_location(
    "remit_text", Path(__file__).with_name("test_remit.py")
)
remit_text = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(remit_text)


def _generate(out: Path, seed: int = SEED) -> Path:
    subprocess.run(
        [sys.executable, "-m", "rcm", "generate", "--out", str(out),
         "--encounters", str(ENCOUNTERS), "--seed", str(seed)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("gen") / "landing")


@pytest.fixture(scope="module")
def truth(landing: Path) -> dict:
    return json.loads((landing / "truth.json").read_text())


def _csvs(landing: Path, extract: str) -> pl.DataFrame:
    return pl.read_csv(
        sorted((landing / extract).glob("*.csv")), infer_schema_length=0
    )  # every column as text, as a loader would see it


@pytest.fixture(scope="module")
def encounters(landing: Path) -> pl.DataFrame:
    """Latest version of each encounter, read from the files."""
    rows = _csvs(landing, "encounters")
    return rows.sort("updated_at").group_by("encounter_id", maintain_order=True).last()


@pytest.fixture(scope="module")
def charges(landing: Path) -> pl.DataFrame:
    return _csvs(landing, "charges").with_columns(
        (pl.col("charge_amount").str.replace(r"\.", "").cast(pl.Int64)).alias("cents")
    )


def test_writes_the_three_extracts_and_truth(landing: Path, truth: dict) -> None:
    start = dt.date(2026, 1, 1)
    days = {start + dt.timedelta(days=k) for k in range(90)}
    for extract, pattern in (
        ("encounters", r"encounters_(\d{4}-\d{2}-\d{2})\.csv"),
        ("charges", r"charges_(\d{4}-\d{2}-\d{2})\.csv"),
        ("remittances", r"era_(\d{4}-\d{2}-\d{2})_\d{3}\.835"),
    ):
        names = [p.name for p in (landing / extract).iterdir()]
        assert names, extract
        for name in names:
            match = re.fullmatch(pattern, name)
            assert match, name
            assert dt.date.fromisoformat(match.group(1)) in days, name
        assert truth["files"][extract] == len(names)
    for mart in ("coding_accuracy", "denial_rates", "denials_by_reason",
                 "documentation_gaps", "facility_cost_burden"):  # fmt: skip
        assert truth[mart], mart
    assert truth["parameters"]["seed"] == SEED


def test_835s_of_every_variant_pass_x12valid(landing: Path, tmp_path: Path) -> None:
    """The 835s that show every variant of the landing folder's (delimiter style, envelope
    layout, segment shapes and qualifiers: tests/x12valid.py) pass x12valid; every 835 is
    validated by the `slow` test below (x12valid parses about 0.2 MB/s)."""
    assert x12valid_path(), "pyx12 is a dev dependency: make setup installs it"
    paths = sorted((landing / "remittances").glob("*.835"))
    chosen, _ = covering_files(paths)
    styles, shapes = variants(chosen)
    assert styles == {dataclasses.astuple(style) for style in DELIMITER_STYLES}
    assert len({shape for shape in shapes if shape[2] == "several ST"}) == ENVELOPE_LAYOUTS
    assert ("one ISA", "one GS", "one ST") in shapes
    failed, errors = invalid_files(chosen, tmp_path)
    assert not failed, f"{len(failed)} of {len(chosen)} invalid, e.g. {failed[:3]}; {errors[:5]}"


@pytest.mark.slow  # every file (~1 min on 2 cores); the variants above are in the default suite
def test_every_835_passes_x12valid(landing: Path, tmp_path: Path) -> None:
    x12valid = Path(sys.executable).with_name("x12valid")
    assert x12valid.exists(), "pyx12 is a dev dependency: make setup installs it"
    # x12valid writes a .997 reply beside each input: validate copies, not the landing folder
    shutil.copytree(landing / "remittances", tmp_path / "remittances")
    paths = sorted((tmp_path / "remittances").glob("*.835"))
    half = len(paths) // 2
    procs = [
        subprocess.Popen([str(x12valid), *map(str, chunk)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
        for chunk in (paths[:half], paths[half:])
    ]  # fmt: skip
    verdicts = {}
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        for name, verdict in re.findall(r"(\S+\.835): (OK|Failure)\s*$", out, re.MULTILINE):
            verdicts[Path(name).name] = verdict
    assert len(verdicts) == len(paths)
    failed = sorted(name for name, verdict in verdicts.items() if verdict != "OK")
    assert not failed, failed[:5]


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_differs(landing: Path, tmp_path: Path) -> None:
    again = _digest(_generate(tmp_path / "again"))
    assert again == _digest(landing)
    other = _digest(_generate(tmp_path / "other", seed=SEED + 1))
    assert other != again
    shutil.rmtree(tmp_path)


def _norm(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_uppercase().str.replace_all(".", "", literal=True)


def _codes(frame: pl.DataFrame, column: str, kind: str, keep: list[str]) -> pl.DataFrame:
    return (
        frame.select(*keep, pl.col(column).str.split(";").alias("code"))
        .explode("code")
        .filter(pl.col("code").is_not_null() & (pl.col("code") != ""))
        .with_columns(_norm(pl.col("code")).alias("code"), pl.lit(kind).alias("kind"))
    )


def test_coding_accuracy_truth_matches_the_files(encounters, charges, truth) -> None:
    coded = encounters.filter(pl.col("coded_at").is_not_null())
    billed = (
        pl.concat(
            [
                _codes(charges, "billed_dx_codes", "dx", ["encounter_id", "cents"]),
                _codes(charges, "hcpcs_code", "px", ["encounter_id", "cents"]),
            ]
        )
        .group_by("encounter_id", "kind", "code")
        .agg(pl.col("cents").sum())
        .filter(pl.col("cents") > 0)
        .select("encounter_id", "kind", "code", pl.lit(True).alias("b"))
    )
    documented = (
        pl.concat(
            [
                _codes(coded, "documented_dx_codes", "dx", ["encounter_id"]),
                _codes(coded, "documented_px_codes", "px", ["encounter_id"]),
            ]
        )
        .unique()
        .with_columns(pl.lit(True).alias("d"))
    )
    billable = set(billable_codes())
    cpt = r"^([0-9]{5}|[A-Z][0-9]{4}|[0-9]{4}T)$"
    codes = (
        billed.join(documented, on=["encounter_id", "kind", "code"], how="full", coalesce=True)
        .join(coded.select("encounter_id"), on="encounter_id", how="semi")
        .with_columns(pl.col("b").fill_null(False), pl.col("d").fill_null(False))
        .with_columns(
            pl.when(pl.col("kind") == "dx")
            .then(pl.col("code").is_in(billable))
            .otherwise(pl.col("code").str.contains(cpt))
            .alias("v")
        )
    )
    per_encounter = codes.group_by("encounter_id").agg(
        pl.col("b").sum().alias("billed"),
        (pl.col("b") & ~pl.col("v")).sum().alias("invalid"),
        (pl.col("b") & ~pl.col("d")).sum().alias("unsupported"),
        (pl.col("d") & ~pl.col("b")).sum().alias("missed"),
        (pl.col("b") & pl.col("d") & pl.col("v")).sum().alias("correct"),
        pl.len().alias("compared"),
    )
    expected = (
        coded.join(per_encounter, on="encounter_id", how="left")
        .with_columns(
            pl.col("billed", "invalid", "unsupported", "missed", "correct", "compared").fill_null(0)
        )  # fmt: skip
        .with_columns(
            pl.col("coded_at").str.slice(0, 7).alias("month"),
            ((pl.col("invalid") + pl.col("unsupported") + pl.col("missed")) == 0).alias("ok"),
        )
        .group_by("month", "facility_id", "coder_id")
        .agg(
            pl.len().alias("encounters_coded"),
            pl.col("ok").sum().alias("encounters_accurate"),
            pl.col("billed").sum().alias("codes_billed"),
            pl.col("invalid").sum().alias("codes_invalid"),
            pl.col("unsupported").sum().alias("codes_unsupported"),
            pl.col("missed").sum().alias("codes_missed"),
            pl.col("correct").sum().alias("codes_correct"),
            pl.col("compared").sum().alias("codes_compared"),
        )
    )
    columns = expected.columns
    got = {
        (r["month"][:7], r["facility_id"], r["coder_id"]): tuple(r[c] for c in columns[3:])
        for r in truth["coding_accuracy"]
    }
    want = {tuple(r[:3]): tuple(r[3:]) for r in expected.select(columns).iter_rows()}
    assert got == want
    assert sum(v[3] for v in want.values()) > 0  # unsupported codes were injected
    assert sum(v[2] for v in want.values()) > 0  # and invalid ones


def test_line_level_gaps_match_the_files(encounters, charges, truth) -> None:
    hold = truth["clinical_config"]["bill_hold_days"]
    lines = charges.join(
        encounters.select("encounter_id", "encounter_type", "discharge_date", "admit_date",
                          "documented_px_codes"),
        on="encounter_id",
    )  # fmt: skip
    date = pl.col
    lag_from = (
        pl.when(pl.col("encounter_type") == "inpatient")
        .then(date("discharge_date"))
        .otherwise(date("service_date"))
        .str.to_date()
    )
    lines = lines.with_columns(
        pl.coalesce("discharge_date", "admit_date").str.slice(0, 7).alias("month"),
        ((date("posted_date").str.to_date() - lag_from).dt.total_days() > hold).alias("late"),
        (
            pl.col("hcpcs_code").is_not_null()
            & ~pl.col("documented_px_codes").fill_null("").str.split(";")
            .list.contains(pl.col("hcpcs_code"))
        ).alias("unsupported"),
    )  # fmt: skip
    for gap, flag in (("late_charge", "late"), ("unsupported_charge", "unsupported")):
        want = defaultdict(lambda: [0, 0])
        for month, facility, dept, cents in (
            lines.filter(pl.col(flag))
            .select("month", "facility_id", "department_id", "cents")
            .iter_rows()
        ):
            want[(month, facility, dept)][0] += 1
            want[(month, facility, dept)][1] += cents
        got = {
            (r["month"][:7], r["facility_id"], r["department_id"]): [
                r["charge_lines"],
                r["dollars_at_risk_cents"],
            ]
            for r in truth["documentation_gaps"]
            if r["gap_type"] == gap
        }
        assert got == dict(want), gap
        assert want, f"no {gap} injected"


def test_denials_and_payments_match_the_835s(landing, charges, truth) -> None:
    clps, _ = remit_text.read_claims(sorted((landing / "remittances").glob("*.835")))
    exact, wild, _ = remit_text.denial_pairs()
    first: dict[str, dict] = {}
    for clp in sorted(clps, key=lambda c: c["date"]):  # stable: file order within a day
        if clp["status"] in {"1", "2", "3", "4", "19", "20", "21"}:
            first.setdefault(clp["claim_id"], clp)
    denied = [
        c for c in first.values()
        if any((g, carc) in exact or carc in wild for g, carc, _ in c["cas"])
    ]  # fmt: skip
    rows = truth["denial_rates"]
    assert sum(r["claims_remitted"] for r in rows) == len(first)
    assert sum(r["claims_denied"] for r in rows) == len(denied) > 0
    assert sum(r["claims_denied_full"] for r in rows) == sum(c["paid"] == 0 for c in denied)
    assert sum(r["charges_remitted_cents"] for r in rows) == sum(
        c["charge"] for c in first.values()
    )
    assert sum(r["charges_denied_cents"] for r in rows) == sum(c["charge"] for c in denied)
    # payments: every remitted dollar (reversals included) is allocated to charge lines
    cost = truth["facility_cost_burden"]
    assert sum(r["payments_cents"] for r in cost) == sum(c["paid"] for c in clps)
    assert sum(r["charges_cents"] for r in cost) == charges["cents"].sum()


def test_injected_rates_are_realised(encounters, truth) -> None:
    config = truth["clinical_config"]
    billed = encounters.filter(pl.col("final_billed_at").is_not_null())
    unsigned = billed.filter(
        pl.col("note_signed_at").is_null() | (pl.col("note_signed_at") > pl.col("final_billed_at"))
    ).height
    rate = unsigned / billed.height
    expected = config["unsigned_note_rate"]
    tolerance = 4 * (expected * (1 - expected) / billed.height) ** 0.5
    assert abs(rate - expected) <= tolerance, (rate, expected)
    gaps = [r for r in truth["documentation_gaps"] if r["gap_type"] == "unsigned_note"]
    assert sum(r["encounters_affected"] for r in gaps) == unsigned


def test_every_835_balances(landing: Path) -> None:
    clps, transactions = remit_text.read_claims(sorted((landing / "remittances").glob("*.835")))
    assert clps and transactions
    for clp in clps:  # claim: charge - (claim + line adjustments) = paid
        assert clp["charge"] - sum(amount for *_, amount in clp["cas"]) == clp["paid"], clp
        for line in clp["lines"]:  # line: charge - line adjustments = paid
            assert line["charge"] - line["adj"] == line["paid"]
    for tx in transactions:  # transaction: sum of claim paid - PLB = BPR02
        assert tx["clp_paid"] - tx["plb"] == tx["bpr"], tx["file"]


def test_a_window_too_short_for_any_remittance(tmp_path: Path) -> None:
    # payers remit after about 20 days: a 15-day window has claims but no 835 yet
    from rcm.generate import generate

    summary = generate(tmp_path / "landing", encounters=60, seed=3, days=15)
    assert summary.claims > 0 and summary.remitted_claims == 0
    assert not list((tmp_path / "landing" / "remittances").glob("*.835"))
    truth = json.loads((tmp_path / "landing" / "truth.json").read_text())
    assert truth["denial_rates"] == [] and truth["coding_accuracy"]
