"""Remittance simulation: balancing, determinism, denial truth and injected rates.

The 835 text is read back by a small parser written here (independent of rcm.era and of
the writer): delimiters come from each file's ISA, segments are split on the terminator.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from rcm.generate.remit import RemitConfig, simulate_remittances
from rcm.generate.x12 import DELIMITER_STYLES, write_835_files
from rcm.reference import data_path

_spec = importlib.util.spec_from_file_location(
    "remit_fixtures", Path(__file__).with_name("remit_fixtures.py")
)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)

START = dt.date(2026, 1, 1)
DAYS = 90
END = START + dt.timedelta(days=DAYS - 1)
FIRST_STATUSES = {"1", "2", "3", "4", "19", "20", "21"}
# more reversals / overturns than the defaults so a small run shows every case
CONFIG = RemitConfig(reversal_rate=0.1, overturn_rate=0.6, full_denial_rate=0.08)


# ----------------------------------------------------------------------------------------------
# an independent, minimal 835 reader


def parse_835(path: Path) -> list[list[list[str]]]:
    """Interchanges of a file as lists of segments (lists of elements)."""
    text = path.read_bytes().decode("ascii")
    assert text.startswith("ISA")
    ele, comp, term = text[3], text[104], text[105]
    segments = [s.strip("\r\n") for s in text.split(term)]
    segments = [s for s in segments if s]
    out = []
    for seg in segments:
        elements = seg.split(ele)
        if elements[0] == "ISA":
            out.append([])
        out[-1].append([e.replace(comp, ":") for e in elements])
    return out


def cents(value: str) -> int:
    return int(Decimal(value) * 100)


def read_claims(paths: list[Path]) -> tuple[list[dict], list[dict]]:
    """CLP records (with their CAS triplets, line totals, BPR16, payer) and transactions."""
    clps: list[dict] = []
    transactions: list[dict] = []
    for path in paths:
        for interchange in parse_835(path):
            assert interchange[-1][0] == "IEA"
            tx = clp = line = None
            for seg in interchange:
                tag = seg[0]
                if tag == "ST":
                    tx = {"clp_paid": 0, "plb": 0, "count": 1, "st": seg[2], "file": path.name}
                    transactions.append(tx)
                    continue
                if tx is not None:
                    tx["count"] += 1
                if tag == "BPR":
                    tx["bpr"] = cents(seg[2])
                    tx["date"] = dt.datetime.strptime(seg[16], "%Y%m%d").date()
                elif tag == "N1" and seg[1] == "PR":
                    tx["payer"] = seg[4] if len(seg) > 4 and seg[4] else seg[2]
                elif tag == "CLP":
                    clp = {
                        "claim_id": seg[1],
                        "status": seg[2],
                        "charge": cents(seg[3]),
                        "paid": cents(seg[4]),
                        "date": tx["date"],
                        "payer": tx["payer"],
                        "cas": [],
                        "lines": [],
                    }
                    line = None
                    clps.append(clp)
                    tx["clp_paid"] += clp["paid"]
                elif tag == "SVC":
                    line = {"charge": cents(seg[2]), "paid": cents(seg[3]), "adj": 0}
                    clp["lines"].append(line)
                elif tag == "CAS":
                    triplets = [(seg[1], seg[i], cents(seg[i + 1])) for i in range(2, len(seg), 3)]
                    assert 1 <= len(triplets) <= 6
                    clp["cas"].extend(triplets)
                    if line is not None:
                        line["adj"] += sum(t[2] for t in triplets)
                elif tag == "PLB":
                    tx["plb"] += sum(cents(seg[i]) for i in range(4, len(seg), 2))
                elif tag == "SE":
                    assert int(seg[1]) == tx["count"], (path.name, "SE01")
                    assert seg[2] == tx["st"]
                    tx = clp = line = None
    return clps, transactions


def denial_pairs() -> tuple[set[tuple[str, str]], set[str], dict[str, str]]:
    seed = pl.read_csv(str(data_path("carc_categories.csv")), infer_schema_length=0)
    seed = seed.filter(pl.col("is_denial") == "true")
    exact = {(g, c) for g, c in seed.select("group_code", "carc_code").iter_rows() if g != "*"}
    wild = {c for g, c in seed.select("group_code", "carc_code").iter_rows() if g == "*"}
    category = dict(seed.select("carc_code", "denial_category").iter_rows())
    return exact, wild, category


# ----------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    return fixtures.build_claims(600, seed=11, start=START, days=40)


@pytest.fixture(scope="module")
def remits(frames):
    claims, lines = frames
    return simulate_remittances(fixtures.REFERENCE, claims, lines, 5, START, DAYS, CONFIG)


@pytest.fixture(scope="module")
def written(remits, tmp_path_factory) -> list[Path]:
    return write_835_files(remits, tmp_path_factory.mktemp("remit_a"))


@pytest.fixture(scope="module")
def parsed(written):
    return read_claims(written)


# ----------------------------------------------------------------------------------------------
# tests


def test_files_named_per_day_and_envelopes_vary(written):
    assert written
    for path in written:
        assert path.parent.name == "remittances"
        name = path.name
        assert name.startswith("era_") and name.endswith(".835")
        dt.date.fromisoformat(name[4:14])
        assert name[15:18].isdigit()
        text = path.read_bytes().decode("ascii")
        assert len(text.split(text[105])[0]) + 1 == 106  # ISA is 106 characters
    heads = {p.read_bytes()[:107] for p in written}
    delims = {(h[3:4], h[104:105], h[105:106], h[106:107] in b"\r\n") for h in heads}
    assert len(delims) == len(DELIMITER_STYLES)
    counts = [(p.read_text().count("ISA"), p.read_text().count("ST" + p.read_text()[3] + "835"))
              for p in written]  # fmt: skip
    assert any(isa > 1 for isa, _ in counts)
    assert any(isa == 1 and st > 1 for isa, st in counts)


def test_balancing_line_claim_transaction(parsed):
    clps, transactions = parsed
    assert clps and transactions
    for clp in clps:
        for line in clp["lines"]:
            assert line["charge"] - line["adj"] == line["paid"]
        assert clp["charge"] - sum(t[2] for t in clp["cas"]) == clp["paid"], clp["claim_id"]
    for tx in transactions:
        assert tx["clp_paid"] - tx["plb"] == tx["bpr"], tx["file"]
        assert tx["bpr"] >= 0


def test_frames_balance_and_match_files(remits, parsed):
    clps, _ = parsed
    assert len(clps) == remits.claims.height
    adj = remits.adjustments.group_by("adj_id").agg(pl.col("amount_cents").sum().alias("adj"))
    check = remits.claims.join(adj, on="adj_id", how="left").with_columns(
        pl.col("adj").fill_null(0)
    )
    assert (check["charge_cents"] - check["adj"] == check["paid_cents"]).all()
    net = remits.claim_net_paid
    by_claim = defaultdict(int)
    for clp in clps:
        by_claim[clp["claim_id"]] += clp["paid"]
    assert dict(net.select("claim_id", "net_paid_cents").iter_rows()) == dict(by_claim)


def test_variety_present(remits, parsed, written):
    clps, _ = parsed
    statuses = {c["status"] for c in clps}
    assert {"1", "22"} <= statuses
    reversal = [c for c in clps if c["status"] == "22"]
    assert all(c["paid"] <= 0 and c["charge"] < 0 for c in reversal)
    assert any(len(c["lines"]) == 0 for c in clps)  # claim-level-only (DRG / full denials)
    text = "".join(p.read_text() for p in written)
    for tag in ("PLB", "MIA", "MOA", "LQ", "DTM", "AMT", "REF", "NM1", "SVC"):
        assert tag in text
    roles = set(remits.claims["_role"].to_list())
    assert roles == {"initial", "overturn", "reversal", "correction"}
    kinds = set(remits.claims["_denial_kind"].to_list())
    assert {"full", "partial", "none"} <= kinds
    assert (
        remits.adjustments.group_by("adj_id", "line_number", "group_code").len()["len"].max() >= 4
    )


def test_deterministic_bytes(frames, written, tmp_path):
    claims, lines = frames
    again = simulate_remittances(
        fixtures.REFERENCE,
        claims.sample(fraction=1.0, shuffle=True, seed=1),
        lines.reverse(),
        5,
        START,
        DAYS,
        CONFIG,
    )
    paths = write_835_files(again, tmp_path)
    assert [p.name for p in paths] == [p.name for p in written]
    for a, b in zip(paths, written, strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_nothing_dated_after_window(written):
    for path in written:
        for interchange in parse_835(path):
            for seg in interchange:
                dates = []
                if seg[0] in ("DTM",):
                    dates.append(seg[2])
                elif seg[0] == "BPR":
                    dates.append(seg[16])
                elif seg[0] == "GS":
                    dates.append(seg[4])
                elif seg[0] == "PLB":
                    dates.append(seg[2])
                elif seg[0] == "ISA":
                    dates.append("20" + seg[9])
                for d in dates:
                    assert dt.datetime.strptime(d, "%Y%m%d").date() <= END, (path.name, seg)


def test_denial_truth_from_835_text(remits, parsed, frames):
    claims, _ = frames
    clps, _ = parsed
    facility = dict(claims.select("claim_id", "facility_id").iter_rows())
    exact, wild, category = denial_pairs()

    def is_denial(group: str, carc: str) -> bool:
        return (group, carc) in exact or carc in wild

    by_claim: dict[str, list[dict]] = defaultdict(list)
    for clp in clps:
        by_claim[clp["claim_id"]].append(clp)
    rates: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reasons: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for claim_id, items in by_claim.items():
        firsts = sorted(
            (c for c in items if c["status"] in FIRST_STATUSES), key=lambda c: c["date"]
        )
        if not firsts:
            continue
        first = firsts[0]
        month = first["date"].replace(day=1)
        denial = [t for t in first["cas"] if is_denial(t[0], t[1])]
        key = (month, facility[claim_id], first["payer"])
        row = rates[key]
        row["claims_remitted"] += 1
        row["charges_remitted_cents"] += first["charge"]
        if denial:
            row["claims_denied"] += 1
            row["charges_denied_cents"] += first["charge"]
            row["claims_denied_full" if first["paid"] == 0 else "claims_denied_partial"] += 1
            later = [c for c in items if c is not first and c["date"] >= first["date"]]
            if any(c["status"] != "22" and c["paid"] > 0 for c in later):
                row["claims_overturned"] += 1
        for group, carc, amount in denial:
            r = reasons[(month, first["payer"], group, carc, category[carc])]
            r[0] += 1
            r[1] += amount
    columns = [
        "claims_remitted", "claims_denied", "claims_denied_full", "claims_denied_partial",
        "charges_remitted_cents", "charges_denied_cents", "claims_overturned",
    ]  # fmt: skip
    expected = {k: tuple(v[c] for c in columns) for k, v in rates.items()}
    got = {
        (r["month"], r["facility_id"], r["payer_id"]): tuple(r[c] for c in columns)
        for r in remits.denial_rates.iter_rows(named=True)
    }
    assert got == expected
    got_reasons = {
        (r["month"], r["payer_id"], r["carc_group"], r["carc_code"], r["denial_category"]): [
            r["lines_denied"],
            r["dollars_denied_cents"],
        ]
        for r in remits.denials_by_reason.iter_rows(named=True)
    }
    assert got_reasons == dict(reasons)
    assert sum(v[1] for v in expected.values()) > 0
    assert sum(v[6] for v in expected.values()) > 0  # some overturned denials
    payers = {k[2] for k in expected}
    assert any(p.isupper() and " " in p for p in payers)  # a name-only payer (N102)


def test_injected_rates_within_tolerance():
    claims, lines = fixtures.build_claims(20_000, seed=3, start=START, days=90)
    config = RemitConfig(payer_denial_rates={"AETNA": (0.1, 0.15)})
    rem = simulate_remittances(fixtures.REFERENCE, claims, lines, 9, START, 90, config)
    first = rem.claims.filter(pl.col("_role") == "initial")
    observed = first.group_by("payer_id").agg(
        pl.len().alias("n"),
        (pl.col("_denial_kind") == "full").mean().alias("full"),
        (pl.col("_denial_kind") == "partial").mean().alias("partial"),
    )
    check = observed.join(rem.payer_rates, on="payer_id")
    assert check.height == 5  # the self-pay payer sends no 835
    for row in check.iter_rows(named=True):
        for kind in ("full", "partial"):
            p = row[f"{kind}_denial_rate"]
            sigma = math.sqrt(p * (1 - p) / row["n"])
            assert abs(row[kind] - p) <= 4 * sigma + 0.002, (row["payer_id"], kind)
    aetna = rem.payer_rates.filter(pl.col("payer_id") == "AETNA").row(0, named=True)
    assert (aetna["full_denial_rate"], aetna["partial_denial_rate"]) == (0.1, 0.15)
    # truth agrees with the labels
    totals = rem.denial_rates.select(pl.col("claims_remitted", "claims_denied").sum()).row(0)
    assert totals == (first.height, (first["_denial_kind"] != "none").sum())
    assert rem.claims["remit_date"].max() <= START + dt.timedelta(days=89)


def test_self_pay_gets_no_835(remits):
    assert "SELF" not in set(remits.claims["payer_id"].to_list())


@pytest.mark.benchmark
@pytest.mark.parametrize("n", [100_000, 1_000_000])
def test_benchmark_remit_and_write(n, tmp_path):
    """Adjudicate and write n synthetic claims (~3.4 lines each); report wall and CPU time."""
    import time

    claims, lines = fixtures.build_claims(n, seed=1, start=START, days=90)
    wall, cpu = time.perf_counter(), time.process_time()
    rem = simulate_remittances(fixtures.REFERENCE, claims, lines, 1, START, 90)
    mid_wall, mid_cpu = time.perf_counter(), time.process_time()
    paths = write_835_files(rem, tmp_path)
    end_wall, end_cpu = time.perf_counter(), time.process_time()
    size = sum(p.stat().st_size for p in paths)
    print(
        f"\n{n:,} claims -> {rem.claims.height:,} CLP, {rem.lines.height:,} SVC, "
        f"{size / 1e6:.0f} MB in {len(paths)} files; simulate {mid_wall - wall:.1f} s wall "
        f"({mid_cpu - cpu:.1f} s CPU), write {end_wall - mid_wall:.1f} s wall "
        f"({end_cpu - mid_cpu:.1f} s CPU)"
    )
    # CPU seconds: wall time depends on what else shares the machine
    assert end_cpu - cpu < 60
