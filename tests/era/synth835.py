"""Small, balanced synthetic 835s with varied delimiters and envelopes (tests, benchmark).

Not the project generator (rcm/generate): a compact writer whose only purpose is variety
for the parser and the pyx12 oracle: several ISA/GS/ST per file, any delimiters, line
breaks or none, claims with 0..4 lines, up to six CAS triplets, LQ, MIA/MOA, PLB pairs,
reversals, denials, and 4010 files with the CR group.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Delims:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"
    newline: str = "\n"


DELIM_SETS = [
    Delims(),
    Delims("|", ">", "^", "~", ""),
    Delims("^", "\\", "{", "'", "\r\n"),
    Delims("*", ":", "^", "\n", ""),
    Delims("!", "@", "#", "$", "\n"),
]

CARCS = {
    "CO": ["45", "97", "50", "16", "253", "4", "B7"],
    "PR": ["1", "2", "3"],
    "OA": ["23", "18"],
    "PI": ["204", "59"],
    "CR": ["45", "96"],
}
CPTS = ["99213", "99214", "80053", "71046", "36415", "93000", "J1100", "0241T"]


def _money(cents: int) -> str:
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


class _Txn:
    def __init__(self, d: Delims) -> None:
        self.d = d
        self.segs: list[str] = []

    def seg(self, *elements: object) -> None:
        parts = ["" if e is None else str(e) for e in elements]
        while parts and parts[-1] == "":
            parts.pop()
        self.segs.append(self.d.element.join(parts))

    def comp(self, *parts: object) -> str:
        items = ["" if p is None else str(p) for p in parts]
        while items and items[-1] == "":
            items.pop()
        return self.d.component.join(items)


def _claim(t: _Txn, rng: random.Random, n: int, version: str) -> tuple[int, int]:
    """Write one claim (CLP loop); returns (paid cents, 1)."""
    groups = ["CO", "PR", "OA", "PI"] + (["CR"] if version == "4010" else [])
    reversal = rng.random() < 0.08
    sign = -1 if reversal else 1
    n_lines = 0 if rng.random() < 0.15 else rng.randint(1, 4)
    lines = []
    for _ in range(n_lines):
        charge = rng.randint(2_000, 90_000)
        adjs: list[tuple[str, list[tuple[str, int, int | None]]]] = []
        remaining = charge
        if rng.random() < 0.15:  # line-level full denial
            adjs.append(("CO", [(rng.choice(["50", "97", "16"]), remaining, None)]))
            remaining = 0
        else:
            for _ in range(rng.randint(0, 2)):
                group = rng.choice(groups)
                trips = []
                for _ in range(rng.randint(1, 6)):
                    amt = rng.randint(0, max(remaining // 4, 1))
                    remaining -= amt
                    qty = rng.choice([None, None, 1, 2])
                    trips.append((rng.choice(CARCS[group]), amt, qty))
                adjs.append((group, trips))
        lines.append((charge, adjs, remaining))
    claim_adjs: list[tuple[str, list[tuple[str, int, int | None]]]] = []
    if n_lines == 0:  # inpatient DRG claim, claim-level adjustments only
        charge_total = rng.randint(500_000, 3_000_000)
        contractual = rng.randint(0, charge_total // 2)
        deductible = rng.randint(0, 160_000)
        claim_adjs.append(("CO", [("45", contractual, None)]))
        claim_adjs.append(("PR", [("1", deductible, None), ("2", 0, None)]))
        paid = charge_total - contractual - deductible
    else:
        charge_total = sum(c for c, _, _ in lines)
        paid = sum(r for _, _, r in lines)
        if rng.random() < 0.3 and paid > 100:
            ded = rng.randint(1, paid // 2)
            claim_adjs.append(("PR", [("1", ded, None)]))
            paid -= ded
    pr = sum(a for g, trips in claim_adjs for _, a, _ in trips if g == "PR") + sum(
        a for _, adjs, _ in lines for g, trips in adjs for _, a, _ in trips if g == "PR"
    )
    status = "22" if reversal else ("4" if paid == 0 and rng.random() < 0.3 else "1")
    t.seg(
        "CLP",
        f"PCN{n:06d}",
        status,
        _money(sign * charge_total),
        _money(sign * paid),
        _money(sign * pr) if pr else None,
        "MC" if n_lines == 0 else "12",
        f"ICN{rng.randint(10**9, 10**10 - 1)}",
        "11" if n_lines == 0 else "13",
        "8" if reversal else "1",
        None,
        f"{rng.randint(1, 999):03d}" if n_lines == 0 else None,
        "1.2345" if n_lines == 0 else None,
    )
    for group, trips in claim_adjs:
        t.seg("CAS", group, *[x for r, a, q in trips for x in (r, _money(sign * a), q)])
    t.seg("NM1", "QC", "1", f"LAST{n}", f"FIRST{n}", None, None, None, "MI", f"MEM{n:07d}")
    if rng.random() < 0.3:
        t.seg("NM1", "82", "1", "RENDER", "DOC", None, None, None, "XX", "1234567893")
    if n_lines == 0:
        t.seg(
            "MIA",
            "3",
            None,
            None,
            _money(paid),
            "MA01",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            "N20",
        )
    elif rng.random() < 0.3:
        t.seg("MOA", None, None, "MA130", "N122")
    t.seg("DTM", "232", "20260105")
    t.seg("DTM", "233", "20260107")
    if rng.random() < 0.5:
        t.seg("AMT", "AU", _money(sign * charge_total))
    for k, (charge, adjs, line_paid) in enumerate(lines):
        mods = rng.sample(["25", "59", "LT", "RT", "GA", "76"], rng.randint(0, 4))
        t.seg(
            "SVC",
            t.comp("HC", rng.choice(CPTS), *mods),
            _money(sign * charge),
            _money(sign * line_paid),
            rng.choice([None, "0450", "0300"]),
            rng.choice(["1", "2", "3"]),
        )
        t.seg("DTM", "472", "20260105")
        for group, trips in adjs:
            t.seg("CAS", group, *[x for r, a, q in trips for x in (r, _money(sign * a), q)])
        t.seg("REF", "6R", f"L{n}{k}")
        if line_paid:
            t.seg("AMT", "B6", _money(sign * (line_paid + rng.randint(0, 500))))
        if rng.random() < 0.3:
            t.seg("LQ", "HE", rng.choice(["N130", "M15", "N381", "MA01"]))
    return sign * paid, 1


def make_835(
    seed: int = 0,
    delims: Delims | None = None,
    interchanges: int = 1,
    groups: int = 1,
    transactions: int = 2,
    claims: int = 4,
    version: str = "5010",
    control_base: int = 100,
) -> str:
    """Return the text of one 835 file (balanced, valid envelopes)."""
    rng = random.Random(seed)
    d = delims or Delims()
    x12 = "00501" if version == "5010" else "00401"
    isa11 = d.repetition if version == "5010" else "U"
    gs08 = "005010X221A1" if version == "5010" else "004010X091A1"
    out: list[str] = []
    claim_no = seed * 100_000
    e = d.element

    def emit(segment: str) -> None:
        out.append(segment + d.segment + d.newline)

    for i in range(interchanges):
        isa13 = f"{control_base + i:09d}"
        emit(
            e.join(
                [
                    "ISA",
                    "00",
                    " " * 10,
                    "00",
                    " " * 10,
                    "ZZ",
                    "PAYERSENDER".ljust(15),
                    "ZZ",
                    "PROVIDERRCV".ljust(15),
                    "260115",
                    "1200",
                    isa11,
                    x12,
                    isa13,
                    "0",
                    "T",
                    d.component,
                ]
            )
        )
        for g in range(groups):
            gs06 = str(control_base * 10 + i * 10 + g + 1)
            emit(
                e.join(
                    ["GS", "HP", "PAYERSENDER", "PROVIDERRCV", "20260115", "1200", gs06, "X", gs08]
                )
            )
            for s in range(transactions):
                st02 = f"{s + 1:04d}"
                t = _Txn(d)
                t.seg("ST", "835", st02)
                body = _Txn(d)
                paid_total = 0
                body.seg("LX", "1")
                for _ in range(claims):
                    claim_no += 1
                    paid, _n = _claim(body, rng, claim_no, version)
                    paid_total += paid
                plb_total = 0
                if rng.random() < 0.5:
                    pairs = []
                    for _ in range(rng.randint(1, 6)):
                        reason = rng.choice(["WO", "L6", "FB", "72", "CS"])
                        amt = rng.randint(-2_000, 2_000)
                        plb_total += amt
                        pairs += [t.comp(reason, f"REF{rng.randint(1, 999)}"), _money(amt)]
                    body.seg("PLB", "1234567893", "20261231", *pairs)
                bpr02 = paid_total - plb_total
                flag = "C" if bpr02 >= 0 else "D"
                t.seg(
                    "BPR",
                    "I",
                    _money(abs(bpr02)),
                    flag,
                    "ACH",
                    "CCP",
                    "01",
                    "999999999",
                    "DA",
                    "123456",
                    "1512345678",
                    None,
                    "01",
                    "999988880",
                    "DA",
                    "98765",
                    "20260115",
                )
                t.seg("TRN", "1", f"EFT{seed}{i}{g}{s}", "1512345678")
                t.seg("DTM", "405", "20260114")
                t.seg("N1", "PR", "ACME HEALTH PLAN", "XV", f"PAYER{seed % 7}")
                t.seg("N3", "1 MAIN ST")
                t.seg("N4", "SPRINGFIELD", "IL", "62701")
                if version == "5010":
                    t.seg("PER", "BL", "EDI HELP", "TE", "8005551212")
                t.seg("N1", "PE", "GENERAL HOSPITAL", "XX", "1234567893")
                segs = t.segs + body.segs
                segs.append(e.join(["SE", str(len(segs) + 1), st02]))
                for segment in segs:
                    emit(segment)
            emit(e.join(["GE", str(transactions), gs06]))
        emit(e.join(["IEA", str(groups), isa13]))
    return "".join(out)
