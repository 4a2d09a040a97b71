"""A tiny hand-made warehouse for the dbt tests: raw extracts, raw 835 tables, ref.icd10cm.

The raw tables are created with the loader's own column lists (rcm.load.warehouse) and the
835 converter's table layout (rcm.era.schema), so the fixture follows those interfaces.
Expected mart values for these rows are worked out by hand in test_dbt_build.py.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from rcm.era import schema as era_schema
from rcm.load.warehouse import raw_columns
from rcm.npi import npi_check_digit
from rcm.reference.icd10cm import code_table

VALID_NPI = "123456789" + str(npi_check_digit("123456789"))
INVALID_NPI = "1234567890"


def _enc(**kw):
    base = {
        "patient_birth_date": "1960-05-01",
        "patient_sex": "F",
        "facility_id": "F01",
        "attending_npi": VALID_NPI,
        "primary_payer_id": "BCBS",
        "documented_dx_codes": [],
        "documented_px_codes": [],
    }
    base.update(kw)
    return base


ENCOUNTERS = [
    # E1 inpatient: latest version (loaded first) ...
    _enc(
        encounter_id="E1",
        patient_id="MRN1",
        department_id="F01-MEDSURG",
        encounter_type="inpatient",
        admit_date="2026-01-03",
        discharge_date="2026-01-06",
        coder_id="C1",
        documented_dx_codes=["I10", "E11.9"],
        documented_px_codes=["99223"],
        note_signed_at="2026-01-06 10:00:00",
        coded_at="2026-01-10 09:00:00",
        final_billed_at="2026-01-12 08:00:00",
        updated_at="2026-01-12 08:00:00",
        _load_id="run1:a",
        _row_number=1,
    ),
    # ... and an older version of E1 that arrived later (must lose to updated_at)
    _enc(
        encounter_id="E1",
        patient_id="MRN1",
        department_id="F01-MEDSURG",
        encounter_type="inpatient",
        admit_date="2026-01-03",
        discharge_date=None,
        coder_id="C9",
        documented_dx_codes=["I10"],
        documented_px_codes=[],
        coded_at="2026-01-04 09:00:00",
        updated_at="2026-01-05 08:00:00",
        _load_id="run2:b",
        _row_number=1,
    ),
    # E2 outpatient, note never signed, 36415 charged then fully reversed
    _enc(
        encounter_id="E2",
        patient_id="MRN2",
        department_id="F01-CLINIC",
        encounter_type="outpatient",
        admit_date="2026-01-20",
        discharge_date="2026-01-20",
        coder_id="C1",
        documented_dx_codes=["J18.9"],
        documented_px_codes=["71046", "99213", "36415"],
        note_signed_at=None,
        coded_at="2026-01-21 09:00:00",
        final_billed_at="2026-01-22 08:00:00",
        updated_at="2026-01-22 08:00:00",
        _load_id="run1:a",
        _row_number=2,
    ),
    # E3 emergency: header code R07 (not billable), 93005 documented not charged,
    # note signed after final billing, invalid attending NPI
    _enc(
        encounter_id="E3",
        patient_id="MRN3",
        department_id="F01-ED",
        encounter_type="emergency",
        admit_date="2026-02-02",
        discharge_date="2026-02-02",
        coder_id="C2",
        attending_npi=INVALID_NPI,
        documented_dx_codes=["R07"],
        documented_px_codes=["99284", "93005"],
        note_signed_at="2026-02-05 10:00:00",
        coded_at="2026-02-03 09:00:00",
        final_billed_at="2026-02-04 08:00:00",
        updated_at="2026-02-05 10:00:00",
        _load_id="run3:c",
        _row_number=1,
    ),
    # E4 outpatient, not coded, not final billed: prices 93005 at F01; 93306 never charged
    _enc(
        encounter_id="E4",
        patient_id="MRN1",
        department_id="F01-CARD",
        encounter_type="outpatient",
        admit_date="2026-02-10",
        discharge_date="2026-02-10",
        documented_px_codes=["93005", "93306"],
        updated_at="2026-02-10 12:00:00",
        _load_id="run3:c",
        _row_number=2,
    ),
    # E5 outpatient, coded accurately, no gaps
    _enc(
        encounter_id="E5",
        patient_id="MRN5",
        department_id="F01-CLINIC",
        encounter_type="outpatient",
        admit_date="2026-01-25",
        discharge_date="2026-01-25",
        coder_id="C1",
        documented_dx_codes=["Z00.00"],
        documented_px_codes=["99395"],
        note_signed_at="2026-01-25 12:00:00",
        coded_at="2026-01-26 09:00:00",
        final_billed_at="2026-01-27 08:00:00",
        updated_at="2026-01-27 08:00:00",
        _load_id="run1:a",
        _row_number=3,
    ),
]


def _chg(
    charge_id,
    encounter_id,
    claim_id,
    department_id,
    service_date,
    posted_date,
    revenue_code,
    hcpcs_code,
    dx,
    charge,
    cost,
    cost_category,
    units=1,
):
    return {
        "charge_id": charge_id,
        "encounter_id": encounter_id,
        "claim_id": claim_id,
        "facility_id": "F01",
        "department_id": department_id,
        "service_date": service_date,
        "posted_date": posted_date,
        "cdm_code": "CDM" + charge_id,
        "revenue_code": revenue_code,
        "hcpcs_code": hcpcs_code,
        "modifiers": [],
        "units": units,
        "billed_dx_codes": dx,
        "charge_amount": charge,
        "cost_amount": cost,
        "cost_category": cost_category,
        "rendering_npi": VALID_NPI,
        "_load_id": "run1:d",
        "_row_number": int(charge_id[2:]),
    }


CHARGES = [
    _chg(
        "CH01",
        "E1",
        "CL1",
        "F01-MEDSURG",
        "2026-01-04",
        "2026-01-04",
        "0120",
        None,
        ["I10", "E11.9"],
        "1000.00",
        "400.00",
        "room_and_board",
    ),
    _chg(
        "CH02",
        "E1",
        "CL1",
        "F01-MEDSURG",
        "2026-01-04",
        "2026-01-05",
        "0990",
        "99223",
        ["I10"],
        "300.00",
        None,
        "professional",
    ),
    _chg(
        "CH03",
        "E1",
        "CL1",
        "F01-LAB",
        "2026-01-05",
        "2026-01-12",
        "0300",
        "85025",
        ["I10"],
        "50.00",
        None,
        "other",
    ),
    _chg(
        "CH04",
        "E2",
        "CL2",
        "F01-CLINIC",
        "2026-01-20",
        "2026-01-20",
        "0510",
        "99213",
        ["J18.9"],
        "200.00",
        "80.00",
        "professional",
    ),
    _chg(
        "CH05",
        "E2",
        "CL2",
        "F01-RAD",
        "2026-01-20",
        "2026-01-21",
        "0320",
        "71046",
        ["J189"],
        "150.00",
        None,
        "other",
    ),
    _chg(
        "CH06",
        "E2",
        "CL2",
        "F01-LAB",
        "2026-01-20",
        "2026-01-20",
        "0300",
        "36415",
        ["J189"],
        "25.00",
        None,
        "other",
    ),
    _chg(
        "CH07",
        "E2",
        "CL2",
        "F01-LAB",
        "2026-01-20",
        "2026-01-21",
        "0300",
        "36415",
        ["J189"],
        "-25.00",
        None,
        "other",
    ),
    _chg(
        "CH08",
        "E3",
        "CL3",
        "F01-ED",
        "2026-02-02",
        "2026-02-02",
        "0450",
        "99284",
        ["R07"],
        "800.00",
        None,
        "other",
    ),
    _chg(
        "CH09",
        "E4",
        "CL4",
        "F01-CARD",
        "2026-02-10",
        "2026-02-10",
        "0730",
        "93005",
        [],
        "120.00",
        None,
        "other",
    ),
    _chg(
        "CH10",
        "E4",
        "CL4",
        "F01-CARD",
        "2026-02-10",
        "2026-02-10",
        "0730",
        "93005",
        [],
        "200.00",
        None,
        "other",
        units=2,
    ),
    _chg(
        "CH11",
        "E4",
        "CL4",
        "F01-CARD",
        "2026-02-10",
        "2026-02-10",
        "0730",
        "93005",
        [],
        "90.00",
        None,
        "other",
    ),
    _chg(
        "CH12",
        "E5",
        "CL5",
        "F01-CLINIC",
        "2026-01-25",
        "2026-01-25",
        "0510",
        "99395",
        ["Z00.00"],
        "180.00",
        "60.00",
        "professional",
    ),
]

# ---- 835s: P1 (2026-02-01, BCBS), P2 (2026-03-05, BCBS), P3 (2026-02-15, name only)
PAYMENTS = [
    {
        "payment_key": "P1",
        "source_file": "era_2026-02-01_001.835",
        "segment_position": 3,
        "total_payment_amount": "900.00",
        "payment_date": "2026-02-01",
        "payer_identifier": "BCBS",
        "payer_name": "Blue Cross",
    },
    {
        "payment_key": "P2",
        "source_file": "era_2026-03-05_001.835",
        "segment_position": 3,
        "total_payment_amount": "330.00",
        "payment_date": None,
        "production_date": "2026-03-05",
        "payer_identifier": "BCBS",
        "payer_name": "Blue Cross",
    },
    {
        "payment_key": "P3",
        "source_file": "era_2026-02-15_001.835",
        "segment_position": 3,
        "total_payment_amount": "70.00",
        "payment_date": "2026-02-15",
        "payer_identifier": None,
        "payer_name": "ACME HEALTH",
    },
]


def _clp(key, payment, position, claim_id, status, charge, paid):
    return {
        "claim_key": key,
        "payment_key": payment,
        "segment_position": position,
        "patient_control_number": claim_id,
        "claim_status_code": status,
        "total_charge_amount": charge,
        "paid_amount": paid,
    }


CLAIMS = [
    _clp("P1-C1", "P1", 10, "CL1", "1", "1350.00", "900.00"),  # partial denial (CO-97 line)
    _clp("P1-C2", "P1", 30, "CL2", "1", "350.00", "0.00"),  # full denial (CO-197)
    _clp("P2-C2", "P2", 10, "CL2", "1", "350.00", "280.00"),  # CL2 paid later: overturned
    _clp("P2-C1R", "P2", 20, "CL1", "22", "-1350.00", "-900.00"),  # reversal of CL1
    _clp("P2-C1", "P2", 30, "CL1", "1", "1350.00", "950.00"),  # CL1 corrected: +50
    _clp("P2-C3", "P2", 40, "CL3", "1", "800.00", "0.00"),  # deductible: paid 0, no denial
    _clp("P3-CX", "P3", 10, "CLX", "1", "100.00", "80.00"),  # no charge lines
]


def _cas(key, claim_key, payment, group, reason, amount, line=None):
    row = {
        "adjustment_key": key,
        "claim_key": claim_key,
        "payment_key": payment,
        "triplet_index": 1,
        "group_code": group,
        "reason_code": reason,
        "adjustment_amount": amount,
        "segment_position": 1,
    }
    if line is not None:
        row["service_line_key"] = line
    return row


CLAIM_ADJUSTMENTS = [
    _cas("P1-C2-A1", "P1-C2", "P1", "CO", "197", "350.00"),
    _cas("P2-C2-A1", "P2-C2", "P2", "CO", "45", "70.00"),
    _cas("P2-C1R-A1", "P2-C1R", "P2", "CO", "45", "-450.00"),
    _cas("P2-C1-A1", "P2-C1", "P2", "CO", "45", "400.00"),
    _cas("P2-C3-A1", "P2-C3", "P2", "PR", "1", "800.00"),
    _cas("P3-CX-A1", "P3-CX", "P3", "CO", "45", "20.00"),
]

SERVICE_LINES = [
    {
        "service_line_key": "P1-C1-L1",
        "claim_key": "P1-C1",
        "payment_key": "P1",
        "procedure_qualifier": "NU",
        "procedure_code": "0120",
        "revenue_code": "0120",
        "line_charge_amount": "1000.00",
        "line_paid_amount": "700.00",
        "segment_position": 11,
    },
    {
        "service_line_key": "P1-C1-L2",
        "claim_key": "P1-C1",
        "payment_key": "P1",
        "procedure_qualifier": "HC",
        "procedure_code": "99223",
        "revenue_code": "0990",
        "line_charge_amount": "300.00",
        "line_paid_amount": "200.00",
        "segment_position": 14,
    },
    {
        "service_line_key": "P1-C1-L3",
        "claim_key": "P1-C1",
        "payment_key": "P1",
        "procedure_qualifier": "HC",
        "procedure_code": "85025",
        "revenue_code": "0300",
        "line_charge_amount": "50.00",
        "line_paid_amount": "0.00",
        "segment_position": 18,
    },
]

LINE_ADJUSTMENTS = [
    _cas("P1-C1-L1-A1", "P1-C1", "P1", "CO", "45", "300.00", line="P1-C1-L1"),
    _cas("P1-C1-L2-A1", "P1-C1", "P1", "CO", "45", "50.00", line="P1-C1-L2"),
    _cas("P1-C1-L2-A2", "P1-C1", "P1", "PR", "2", "50.00", line="P1-C1-L2"),
    _cas("P1-C1-L3-A1", "P1-C1", "P1", "CO", "97", "50.00", line="P1-C1-L3"),
]

REMARKS = [
    {
        "remark_key": "P1-C1-L3-R1",
        "claim_key": "P1-C1",
        "service_line_key": "P1-C1-L3",
        "payment_key": "P1",
        "level": "line",
        "source_element": "LQ02",
        "code_list_qualifier": "HE",
        "remark_code": "M15",
    },
]

PROVIDER_ADJUSTMENTS = [
    {
        "provider_adjustment_key": "P3-PLB1",
        "payment_key": "P3",
        "provider_identifier": "1",
        "pair_index": 1,
        "adjustment_reason_code": "WO",
        "adjustment_amount": "10.00",
    },
]

ERA_ROWS = {
    "payments": PAYMENTS,
    "claims": CLAIMS,
    "claim_adjustments": CLAIM_ADJUSTMENTS,
    "service_lines": SERVICE_LINES,
    "line_adjustments": LINE_ADJUSTMENTS,
    "remarks": REMARKS,
    "provider_adjustments": PROVIDER_ADJUSTMENTS,
}


def _create(con, table: str, columns: list[tuple[str, str]], rows: list[dict]) -> None:
    con.execute(
        f"create table {table} ("
        + ", ".join(f'"{name}" {sql_type}' for name, sql_type in columns)
        + ")"
    )
    known = {name for name, _ in columns}
    for row in rows:
        unknown = set(row) - known
        assert not unknown, f"{table}: fixture columns not in the interface: {unknown}"
        names = list(row)
        con.execute(
            f"insert into {table} ({', '.join(chr(34) + n + chr(34) for n in names)}) "
            f"values ({', '.join('?' for _ in names)})",
            [row[n] for n in names],
        )


_ERA_SQL_TYPES = {
    "DECIMAL(18,2)": "DECIMAL(18,2)",
    "TEXT": "VARCHAR",
    "DATE": "DATE",
    "BIGINT": "BIGINT",
    "DOUBLE": "DOUBLE",
    "BOOLEAN": "BOOLEAN",
}


def build_warehouse(path: Path) -> None:
    """Write the fixture into a new DuckDB file at `path`."""
    con = duckdb.connect(str(path))
    try:
        for schema in ("raw", "ref"):
            con.execute(f"create schema {schema}")
        for extract, rows in (("encounters", ENCOUNTERS), ("charges", CHARGES)):
            stamped = [
                {
                    "_source_file": f"{extract}_fixture.csv",
                    "_source_line": r["_row_number"] + 1,
                    **r,
                }
                for r in rows
            ]
            _create(con, f"raw.{extract}", raw_columns(extract), stamped)
        for table, rows in ERA_ROWS.items():
            columns = [
                (c.name, _ERA_SQL_TYPES[era_schema._type_name(c.dtype)])
                for c in era_schema.TABLES[table]
            ] + [("_load_id", "VARCHAR"), ("_source_file", "VARCHAR")]
            # one 835 file (one load) per payment, as the loader tags them
            stamped = [{"_load_id": f"run1:{r['payment_key']}", **r} for r in rows]
            _create(con, f"raw.era_{table}", columns, stamped)
        icd = code_table()
        con.register("icd_frame", icd.to_arrow())
        con.execute("create table ref.icd10cm as select * from icd_frame")
        con.unregister("icd_frame")
    finally:
        con.close()


def frame(con, sql: str) -> pl.DataFrame:
    return pl.from_arrow(con.execute(sql).to_arrow_table())
