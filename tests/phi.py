"""The identifiers a landing folder seeds: what no log, report or message may show.

Every patient id (MRN) and birth date of the encounters extract, encounter and claim ids,
and from the X12 835s every patient, insured and corrected-patient name (NM1*QC, NM1*IL,
NM1*74) in the usual spellings, with their member ids (NM109).
"""

from __future__ import annotations

import csv
from pathlib import Path

PERSON_ENTITIES = {"QC", "IL", "74"}  # patient, insured / subscriber, corrected patient


def _segments(path: Path) -> list[list[str]]:
    raw = path.read_text(encoding="utf-8", errors="replace").lstrip()
    element, terminator = raw[3], raw[105]
    return [s.strip().split(element) for s in raw.split(terminator) if s.strip()]


def seeded_phi(landing: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"ids": set(), "birth_dates": set(), "names": set()}
    for path in sorted((landing / "encounters").glob("*.csv")):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                found["ids"].update(filter(None, (row.get("patient_id"), row.get("encounter_id"))))
                if row.get("patient_birth_date"):
                    found["birth_dates"].add(row["patient_birth_date"])
    for path in sorted((landing / "charges").glob("*.csv")):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if "claim_id" in (reader.fieldnames or []):
                found["ids"].update(r["claim_id"] for r in reader if r.get("claim_id"))
    for path in sorted((landing / "remittances").iterdir()):
        for segment in _segments(path):
            if segment[0] == "NM1" and len(segment) > 3 and segment[1] in PERSON_ENTITIES:
                last = segment[3]
                first = segment[4] if len(segment) > 4 else ""
                if last and first:
                    found["names"].update({f"{first} {last}", f"{last}, {first}",
                                           f"{last} {first}", f"{last}*{first}"})  # fmt: skip
                if len(segment) > 9 and segment[9]:
                    found["ids"].add(segment[9])
            elif segment[0] == "CLP" and len(segment) > 1:
                found["ids"].add(segment[1])
    return found
