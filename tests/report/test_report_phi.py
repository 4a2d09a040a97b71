"""No PHI in any report file nor in what `rcm report` prints.

The identifiers are read back from the landing folder the warehouse was loaded from: every
patient id (MRN) and birth date of the encounters extract (one planted in a quarantined
row, too), and from the X12 835s every patient, insured and corrected-patient name
(NM1*QC, NM1*IL, NM1*74) and member id (their NM109). Claim and encounter ids are
patient-level keys as well: an aggregate report shows none of them.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from phi import seeded_phi
from report_warehouse import PLANTED_BIRTH_DATE, PLANTED_MRN

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def phi(built_warehouse) -> dict[str, set[str]]:
    found = seeded_phi(built_warehouse.landing)
    assert PLANTED_MRN in found["ids"] and PLANTED_BIRTH_DATE in found["birth_dates"]
    assert len(found["names"]) > 40 and len(found["ids"]) > 300, "the sample has patients"
    return found


def _workbook_text(path: Path) -> str:
    book = load_workbook(path)
    return "\n".join(
        str(cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    )


def _leaks(output: str, phi: dict[str, set[str]]) -> list[str]:
    folded = output.casefold()
    leaks = [name for name in phi["names"] if name.casefold() in folded]
    # ids as whole tokens (E0000001 must not match inside E00000012)
    leaks += [i for i in phi["ids"] if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", output)]
    for born in phi["birth_dates"]:
        day = dt.date.fromisoformat(born)
        if day.year >= 2025:  # a newborn's birth date is also a service date of the data
            continue
        leaks += [form for form in (born, f"{day:%m/%d/%Y}", f"{day:%Y%m%d}") if form in output]
    return leaks


def test_no_phi_in_the_html(report, phi) -> None:
    page = html.unescape(report.html.read_text(encoding="utf-8"))
    assert not _leaks(page, phi)


def test_no_phi_in_the_workbook(report, phi) -> None:
    assert not _leaks(_workbook_text(report.xlsx), phi)


def test_no_phi_in_what_rcm_report_prints(built_warehouse, phi, tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rcm", "report", "--warehouse", str(built_warehouse.warehouse),
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = done.stdout + done.stderr
    assert not _leaks(printed, phi)
    written = sorted(tmp_path.iterdir())
    assert done.stdout.split() == [str(p) for p in written]
    for path in written:
        text = path.read_text("utf-8") if path.suffix == ".html" else _workbook_text(path)
        assert not _leaks(html.unescape(text), phi), path.name


def test_the_check_finds_a_leak(phi) -> None:
    """The detector itself works: a planted MRN, a name and a birth date are caught."""
    name = sorted(phi["names"])[0]
    leaks = _leaks(f"row {PLANTED_MRN}; {name.upper()}; born {PLANTED_BIRTH_DATE}", phi)
    assert PLANTED_MRN in leaks and PLANTED_BIRTH_DATE in leaks and name in leaks
