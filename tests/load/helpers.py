"""Helpers for the load-layer tests: tiny extract files written in the test, fresh warehouses."""

from __future__ import annotations

from pathlib import Path

import duckdb

from rcm.load import load_landing, open_working_copy, publish
from rcm.load.extracts import CHARGES, ENCOUNTERS

ENC_COLUMNS = list(ENCOUNTERS.names)
CHG_COLUMNS = list(CHARGES.names)


def encounter(encounter_id: str, **values: str) -> dict[str, str]:
    row = {
        "encounter_id": encounter_id,
        "patient_id": "MRN" + encounter_id,
        "patient_birth_date": "1970-05-06",
        "patient_sex": "F",
        "facility_id": "FAC1",
        "department_id": "MED",
        "encounter_type": "inpatient",
        "admit_date": "2026-01-02",
        "discharge_date": "2026-01-04",
        "attending_npi": "1234567893",
        "primary_payer_id": "PAY1",
        "coder_id": "C01",
        "documented_dx_codes": "I10;E11.9",
        "documented_px_codes": "99223",
        "note_signed_at": "2026-01-04T10:00:00",
        "coded_at": "2026-01-05T09:00:00",
        "final_billed_at": "2026-01-06T09:00:00",
        "updated_at": "2026-01-06T09:00:00",
    }
    row.update(values)
    return row


def charge(charge_id: str, **values: str) -> dict[str, str]:
    row = {
        "charge_id": charge_id,
        "encounter_id": "E1",
        "claim_id": "CLM1",
        "facility_id": "FAC1",
        "department_id": "LAB",
        "service_date": "2026-01-02",
        "posted_date": "2026-01-03",
        "cdm_code": "CDM100",
        "revenue_code": "0300",
        "hcpcs_code": "80053",
        "modifiers": "26;59",
        "units": "1",
        "billed_dx_codes": "I10",
        "charge_amount": "125.50",
        "cost_amount": "30.25",
        "cost_category": "supplies",
        "rendering_npi": "1234567893",
    }
    row.update(values)
    return row


def csv_text(rows: list[dict[str, str]], columns: list[str] | None = None, eol: str = "\n") -> str:
    columns = columns or list(rows[0])
    lines = [",".join(columns)] + [",".join(row.get(c, "") for c in columns) for row in rows]
    return eol.join(lines) + eol


def write(landing: Path, extract: str, name: str, content: str | bytes) -> Path:
    folder = landing / extract
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def run_load(landing: Path, warehouse: Path, run_id: str = "run1", **kwargs):
    """One nightly load: working copy -> load_landing -> publish. Returns the summary."""
    working = open_working_copy(warehouse)
    summary = load_landing(landing, working, run_id, **kwargs)
    publish(working, warehouse)
    return summary


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def assert_invariants(warehouse: Path) -> None:
    """Manifest invariant on every file, and manifest counts = rows actually in the tables."""
    rows = query(
        warehouse,
        """
        select m.file_name, m.extract, m.rows_read, m.rows_loaded, m.rows_quarantined,
            coalesce((select count(*) from raw.encounters r where r._load_id = m.load_id), 0)
          + coalesce((select count(*) from raw.charges r where r._load_id = m.load_id), 0),
            coalesce((select count(*) from quarantine.encounters r
                      where r.load_id = m.load_id), 0)
          + coalesce((select count(*) from quarantine.charges r where r.load_id = m.load_id), 0)
        from ops.load_manifest m
        where m.extract in ('encounters', 'charges')
        """,
    )
    for name, _extract, read, loaded, quarantined, in_raw, in_quarantine in rows:
        assert read == loaded + quarantined, name
        assert in_raw == loaded, name
        assert in_quarantine == quarantined, name
    ids = query(warehouse, "select count(*), count(distinct load_id) from ops.load_manifest")
    assert ids[0][0] == ids[0][1], "load_id is unique per manifest row"


def unreadable(monkeypatch, file_name: str) -> None:
    """The loader's reads of `file_name` fail with PermissionError (an I/O error); other
    files read as usual. `monkeypatch.undo()` or the test's end restores the reader."""
    import rcm.load.loader as loader_module

    real = loader_module.read_file

    def read_file(con, file, load_id):
        if file.file_name == file_name:
            raise PermissionError(13, "Permission denied")
        return real(con, file, load_id)

    monkeypatch.setattr(loader_module, "read_file", read_file)
