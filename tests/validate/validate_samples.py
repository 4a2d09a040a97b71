"""Small good batches per extract (contract columns, as-loaded text) with planted PHI markers."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from rcm.npi import npi_check_digit

PLANTED_PATIENT_ID = "MRN-ZQX-918273"
PLANTED_PATIENT_NAME = "Zebulon Quarternack"
PLANTED_BIRTH_DATE = "1937-04-29"
PLANTED_CLAIM_ID = "PCN-ZQX-55501"

ROWS = 24
ENCOUNTER_TYPES = ["inpatient", "outpatient", "emergency", "observation", "ambulatory_surgery"]


def npi(base: str) -> str:
    return base + str(npi_check_digit(base))


def _create(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], rows: list) -> None:
    con.execute("create schema if not exists " + table.split(".")[0])
    con.execute(f"create or replace table {table} ({', '.join(c + ' varchar' for c in columns)})")
    con.executemany(f"insert into {table} values ({', '.join('?' * len(columns))})", rows)


def create_encounters(con: duckdb.DuckDBPyConnection, table: str = "raw.encounters") -> None:
    """E0001..E0024; E0001 is the planted patient."""
    rows = []
    for i in range(1, ROWS + 1):
        admit = date(2026, 3, 1) + timedelta(days=i)
        first = i == 1
        rows.append(
            [
                f"E{i:04d}",
                PLANTED_PATIENT_ID if first else f"MRN-{1000 + i}",
                PLANTED_PATIENT_NAME if first else f"Patient {i}",
                PLANTED_BIRTH_DATE if first else str(date(1950, 1, 1) + timedelta(days=400 * i)),
                "FMU"[i % 3],
                "FAC1",
                f"DEP{i % 3}",
                ENCOUNTER_TYPES[i % 5],
                str(admit),
                str(admit + timedelta(days=2)) if i % 2 else None,
                npi(f"1234567{i:02d}"),
                "PAY1",
                "C1",
                "E119;I10" if i % 2 else "Z0000",
                "99213;G0008" if i % 3 else "0042T",
                f"{admit + timedelta(days=3)} 10:00:00",
                f"{admit + timedelta(days=4)}T09:00:00",
                None,
                f"{admit + timedelta(days=5)} 08:00:00",
            ]
        )
    _create(
        con,
        table,
        [
            "encounter_id",
            "patient_id",
            "patient_name",
            "patient_birth_date",
            "patient_sex",
            "facility_id",
            "department_id",
            "encounter_type",
            "admit_date",
            "discharge_date",
            "attending_npi",
            "primary_payer_id",
            "coder_id",
            "documented_dx_codes",
            "documented_px_codes",
            "note_signed_at",
            "coded_at",
            "final_billed_at",
            "updated_at",
        ],
        rows,
    )


def create_charges(con: duckdb.DuckDBPyConnection, table: str = "raw.charges") -> None:
    """CH00001..CH00024; CH00024 is a credit line; CH00001 carries the planted claim id."""
    rows = []
    for i in range(1, ROWS + 1):
        service = date(2026, 3, 1) + timedelta(days=i % 9)
        credit = i == ROWS
        rows.append(
            [
                f"CH{i:05d}",
                f"E{(i % 6) + 1:04d}",
                PLANTED_CLAIM_ID if i == 1 else f"CL{i}",
                "FAC1",
                "DEP1",
                str(service),
                str(service + timedelta(days=i % 4)),
                f"CDM{i}",
                f"0{300 + i}",
                ["99213", "J1100", "0042T", None][i % 4],
                "25;59" if i % 3 == 0 else None,
                "-1" if credit else str(i % 3 + 1),
                "E119;I10" if i % 2 else "R0789",
                "-120.00" if credit else f"{100 + i * 10}.50",
                "40.25" if i % 2 else None,
                ["supplies", "drugs", "nursing", "other"][i % 4],
                npi(f"98765432{i % 10}") if i % 2 else None,
            ]
        )
    _create(
        con,
        table,
        [
            "charge_id",
            "encounter_id",
            "claim_id",
            "facility_id",
            "department_id",
            "service_date",
            "posted_date",
            "cdm_code",
            "revenue_code",
            "hcpcs_code",
            "modifiers",
            "units",
            "billed_dx_codes",
            "charge_amount",
            "cost_amount",
            "cost_category",
            "rendering_npi",
        ],
        rows,
    )


def create_remittances(con: duckdb.DuckDBPyConnection, schema: str = "raw") -> None:
    """A balanced 835 load: the parser's tables (docs/era-tables.md), the columns the suite
    reads plus a patient name. Payment P1 holds claims 1..12 (claim 1 has two service
    lines with line adjustments, claim 3 is a reversal), P2 claims 1..2 (claim 1 denied),
    P3 claim 1; P1 has an interest PLB (negative amount: it raises the payment)."""
    claims, claim_adj, lines, line_adj = [], [], [], []
    layout = {"P1": 12, "P2": 2, "P3": 1}
    for payment, count in layout.items():
        for index in range(1, count + 1):
            key, planted = f"K-{payment}-{index}", (payment, index) == ("P1", 1)
            pcn = PLANTED_CLAIM_ID if planted else f"PCN-{payment}-{index}"
            name = PLANTED_PATIENT_NAME if planted else f"Patient {payment} {index}"
            sign = -1 if (payment, index) == ("P1", 3) else 1
            charge, adjust = sign * (100 + 10 * index), sign * (20 + index)
            status = "22" if sign < 0 else ("4" if (payment, index) == ("P2", 1) else "1")
            if status == "4":
                adjust = charge
            paid, pr = charge - adjust, 0
            if planted:  # line-level adjustments only
                lines += [
                    (f"L-{key}-1", key, payment, 60.0, 40.0),
                    (f"L-{key}-2", key, payment, 50.0, 50.0),
                ]
                line_adj += [
                    (f"L-{key}-1", key, payment, "CO", "45", 15.0),
                    (f"L-{key}-1", key, payment, "PR", "2", 5.0),
                ]
                charge, adjust, paid, pr = 110, 0, 90, 5
            else:
                claim_adj.append((key, payment, "CO", "45" if status != "4" else "50", adjust))
            claims.append((key, payment, pcn, status, charge, paid, pr, name))
    plb = [("P1", "L6", -2.5)]
    payments = []
    for payment in layout:
        total = sum(c[5] for c in claims if c[1] == payment) - sum(
            p[2] for p in plb if p[0] == payment
        )
        payments.append((payment, "era_2026-03-12_001.835", total, "C", True))
    money = "decimal(18,2)"
    tables = {
        "remit_payments": (
            f"payment_key varchar, source_file varchar, total_payment_amount "
            f"{money}, credit_debit_flag varchar, is_envelope_valid boolean",
            payments,
        ),
        "remit_claims": (
            f"claim_key varchar, payment_key varchar, patient_control_number varchar,"
            f" claim_status_code varchar, total_charge_amount {money},"
            f" paid_amount {money}, patient_responsibility_amount {money},"
            f" patient_last_name varchar",
            claims,
        ),
        "remit_claim_adjustments": (
            f"claim_key varchar, payment_key varchar, group_code varchar,"
            f" reason_code varchar, adjustment_amount {money}",
            claim_adj,
        ),
        "remit_service_lines": (
            f"service_line_key varchar, claim_key varchar, payment_key"
            f" varchar, line_charge_amount {money}, line_paid_amount {money}",
            lines,
        ),
        "remit_line_adjustments": (
            f"service_line_key varchar, claim_key varchar, payment_key"
            f" varchar, group_code varchar, reason_code varchar,"
            f" adjustment_amount {money}",
            line_adj,
        ),
        "remit_provider_adjustments": (
            f"payment_key varchar, adjustment_reason_code varchar, adjustment_amount {money}",
            plb,
        ),
    }
    con.execute(f"create schema if not exists {schema}")
    for name, (columns, rows) in tables.items():
        con.execute(f"create or replace table {schema}.{name} ({columns})")
        width = len(rows[0])
        con.executemany(f"insert into {schema}.{name} values ({', '.join('?' * width)})", rows)
