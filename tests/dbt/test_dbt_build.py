"""`dbt build` on a tiny hand-made warehouse; the marts must equal values worked out by hand.

The fixture (tests/dbt/dbt_warehouse_fixture.py) has five encounters, twelve charge lines and
three 835 transactions. The expected rows below are computed by hand from those rows and
the shipped seeds (domain.md Part A); the comments show the arithmetic.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from dbt_build import DBT_DIR, dbt_build
from dbt_invoke import dbt_invoke, read_artifact
from dbt_warehouse_fixture import build_warehouse

pytestmark = pytest.mark.integration

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


def D(text: str) -> Decimal:
    return Decimal(text)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("dbt_build")
    path = tmp / "warehouse.duckdb"
    build_warehouse(path)
    dbt_build(path, tmp)
    return path, tmp


@pytest.fixture(scope="module")
def warehouse(built) -> Path:
    return built[0]


def rows(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def approx_row(row: tuple) -> tuple:
    return tuple(pytest.approx(v) if isinstance(v, float) else v for v in row)


def test_schemas_are_not_prefixed(warehouse):
    sql = "select distinct table_schema from information_schema.tables"
    schemas = {r[0] for r in rows(warehouse, sql)}
    assert {"staging", "intermediate", "marts", "ref", "raw"} <= schemas


def test_coding_accuracy(warehouse):
    got = rows(
        warehouse,
        """
        select month, facility_id, coder_id, encounters_coded, encounters_accurate,
               encounter_accuracy_rate, codes_billed, codes_invalid, codes_unsupported,
               codes_missed, code_accuracy_rate
        from marts.coding_accuracy order by month, coder_id
    """,
    )
    # Jan, C1: E1 B={I10,E119,99223,85025} D={I10,E119,99223}: unsupported 1, correct 3 of 4.
    #          E2 B={J189,99213,71046} (36415 charged then reversed: not billed)
    #             D={J189,71046,99213,36415}: missed 1, correct 3 of 4.
    #          E5 B=D={Z0000,99395}: accurate, 2 of 2.
    #          -> coded 3, accurate 1, billed 4+3+2=9, correct 8 / compared 10.
    #          The older E1 version (coder C9, coded Jan 4) lost to the newer updated_at.
    # Feb, C2: E3 B={R07,99284} D={R07,99284,93005}; R07 is a header (not billable):
    #          invalid 1, missed 1, correct 1 of 3.
    assert [approx_row(r) for r in got] == [
        (JAN, "F01", "C1", 3, 1, 1 / 3, 9, 0, 1, 1, 0.8),
        (FEB, "F01", "C2", 1, 0, 0.0, 2, 1, 0, 1, 1 / 3),
    ]


def test_denial_rates(warehouse):
    got = rows(
        warehouse,
        """
        select month, facility_id, payer_id, claims_remitted, claims_denied,
               initial_denial_rate, charges_remitted, charges_denied, denial_rate_dollars,
               claims_denied_full, claims_denied_partial, claims_overturned,
               overturned_amount, initial_denial_rate_hfma_3m
        from marts.denial_rates order by month, facility_id nulls last
    """,
    )
    # Feb (P1, Feb 1): CL1 partial (paid 900, line CO-97), CL2 full (paid 0, CO-197).
    #   Both overturned: CL1 net 900-900+950 = 950 > 900 (+50); CL2 net 0+280 > 0 (+280).
    # Feb (P3, name only): CLX has no charge lines -> facility null, payer = N102.
    # Mar (P2, DTM*405 Mar 5): CL3 paid 0 with PR-1 only: not denied. HFMA prior 3 months
    #   for F01 x BCBS = Feb: 2 denied / 2 remitted.
    assert [approx_row(r) for r in got] == [
        (
            FEB,
            "F01",
            "BCBS",
            2,
            2,
            1.0,
            D("1700.00"),
            D("1700.00"),
            1.0,
            1,
            1,
            2,
            D("330.00"),
            None,
        ),
        (
            FEB,
            None,
            "ACME HEALTH",
            1,
            0,
            0.0,
            D("100.00"),
            D("0.00"),
            0.0,
            0,
            0,
            0,
            D("0.00"),
            None,
        ),
        (MAR, "F01", "BCBS", 1, 0, 0.0, D("800.00"), D("0.00"), 0.0, 0, 0, 0, D("0.00"), 1.0),
    ]


def test_denials_by_reason(warehouse):
    got = rows(
        warehouse,
        """
        select month, payer_id, carc_group, carc_code, denial_category, lines_denied,
               dollars_denied
        from marts.denials_by_reason order by carc_code
    """,
    )
    # CO-45 and PR-2 on the same remittance are not denials; CO-45 on P2 is not first.
    assert got == [
        (FEB, "BCBS", "CO", "197", "authorization", 1, D("350.00")),
        (FEB, "BCBS", "CO", "97", "bundling_ncci", 1, D("50.00")),
    ]


def test_documentation_gaps(warehouse):
    got = rows(
        warehouse,
        """
        select month, department_id, gap_type, encounters_affected, charge_lines,
               dollars_at_risk
        from marts.documentation_gaps order by month, department_id, gap_type
    """,
    )
    # E1 (inpatient, discharged Jan 6): CH03 85025 not documented -> unsupported $50;
    #   posted Jan 12 = discharge + 6 > 4 -> late $50 (department of the line: LAB).
    # E2: note never signed, final billed -> unsigned: its 4 lines, 200+150+25-25 = $350.
    # E3 (Feb): signed after final billing -> unsigned $800; NPI check digit fails ->
    #   missing_element $800; 93005 documented not charged -> missed at the median unit
    #   charge of 93005 at F01: median(120/1, 200/2, 90/1) = $100.
    # E4: 93306 documented, never charged anywhere -> missed, $ null.
    assert got == [
        (JAN, "F01-CLINIC", "unsigned_note", 1, 4, D("350.00")),
        (JAN, "F01-LAB", "late_charge", 1, 1, D("50.00")),
        (JAN, "F01-LAB", "unsupported_charge", 1, 1, D("50.00")),
        (FEB, "F01-CARD", "missed_charge", 1, 0, None),
        (FEB, "F01-ED", "missed_charge", 1, 0, D("100.00")),
        (FEB, "F01-ED", "missing_element", 1, 1, D("800.00")),
        (FEB, "F01-ED", "unsigned_note", 1, 1, D("800.00")),
    ]


def test_facility_cost_burden(warehouse):
    got = rows(
        warehouse,
        """
        select month, department_id, cost_category, encounters, charges, cost, payments,
               cost_to_charge_ratio, cost_to_payment_ratio, margin
        from marts.facility_cost_burden order by month, department_id, cost_category
    """,
    )
    # Costs: direct when given, else charge x CCR of F01 (seed): clinic/ED/lab/imaging/
    #   cardiology families; rev 0990 has no family -> F01 hospital-wide '*' 0.262.
    # Payments: CL1 net 950 over CH01/02/03 (1000/300/50): running 703.70, 914.81, 950
    #   -> 703.70, 211.11, 35.19. CL2 net 280 over CH04..07 (200/150/25/-25): 160, 120,
    #   20, -20. CL3 net 0. CL4, CL5 not remitted -> 0.
    assert [approx_row(r) for r in got] == [
        # CH04 (200, direct 80, paid 160) + CH12 (180, direct 60, not remitted)
        (
            JAN,
            "F01-CLINIC",
            "professional",
            2,
            D("380.00"),
            D("140.00"),
            D("160.00"),
            140 / 380,
            140 / 160,
            D("20.00"),
        ),
        # CH03 (50 x 0.126 = 6.30, 35.19) + CH06 (25 x 0.126 = 3.15, 20) + CH07 (-3.15, -20)
        (
            JAN,
            "F01-LAB",
            "other",
            2,
            D("50.00"),
            D("6.30"),
            D("35.19"),
            6.30 / 50,
            6.30 / 35.19,
            D("28.89"),
        ),
        # CH02: 300 x 0.262 = 78.60, paid 211.11
        (
            JAN,
            "F01-MEDSURG",
            "professional",
            1,
            D("300.00"),
            D("78.60"),
            D("211.11"),
            0.262,
            78.60 / 211.11,
            D("132.51"),
        ),
        # CH01: direct 400, paid 703.70
        (
            JAN,
            "F01-MEDSURG",
            "room_and_board",
            1,
            D("1000.00"),
            D("400.00"),
            D("703.70"),
            0.4,
            400 / 703.70,
            D("303.70"),
        ),
        # CH05: 150 x 0.098 = 14.70, paid 120
        (
            JAN,
            "F01-RAD",
            "other",
            1,
            D("150.00"),
            D("14.70"),
            D("120.00"),
            0.098,
            14.70 / 120,
            D("105.30"),
        ),
        # CH09..11: 120, 200, 90 x 0.127 = 15.24 + 25.40 + 11.43
        (FEB, "F01-CARD", "other", 1, D("410.00"), D("52.07"), D("0.00"), 0.127, None, D("-52.07")),
        # CH08: 800 x 0.241 = 192.80, CL3 paid 0
        (FEB, "F01-ED", "other", 1, D("800.00"), D("192.80"), D("0.00"), 0.241, None, D("-192.80")),
    ]


def test_fct_claims_and_dim_encounters(warehouse):
    claims = rows(
        warehouse,
        """
        select claim_id, facility_id, is_adjudicated, is_denied, denial_type, is_overturned,
               net_paid_amount, remittance_count
        from marts.fct_claims order by claim_id
    """,
    )
    assert claims == [
        ("CL1", "F01", True, True, "partial", True, D("950.00"), 3),
        ("CL2", "F01", True, True, "full", True, D("280.00"), 2),
        ("CL3", "F01", True, False, None, False, D("0.00"), 1),
        ("CL4", "F01", False, False, None, False, None, 0),
        ("CL5", "F01", False, False, None, False, None, 0),
        ("CLX", None, True, False, None, False, D("80.00"), 1),
    ]
    columns = {
        r[0]
        for r in rows(
            warehouse,
            """
        select column_name from information_schema.columns
        where table_schema = 'marts' and table_name = 'dim_encounters'
    """,
        )
    }
    assert "patient_id" not in columns and "patient_birth_date" not in columns
    encounters = rows(
        warehouse,
        """
        select encounter_id, coder_id, patient_age_at_admit, is_attending_npi_valid,
               count(*) over (partition by patient_key) as encounters_of_patient
        from marts.dim_encounters order by encounter_id
    """,
    )
    # E1 and E4 share MRN1 -> same pseudonymous key; E1 is its latest version (coder C1).
    assert encounters == [
        ("E1", "C1", 65, True, 2),
        ("E2", "C1", 65, True, 1),
        ("E3", "C2", 65, False, 1),
        ("E4", None, 65, True, 2),
        ("E5", "C1", 65, True, 1),
    ]


def test_every_mart_column_is_documented(warehouse):
    import yaml

    spec = yaml.safe_load((DBT_DIR / "models" / "marts" / "_marts__models.yml").read_text())
    documented = {
        model["name"]: {c["name"] for c in model.get("columns", []) if c.get("description")}
        for model in spec["models"]
        if model.get("description")
    }
    built: dict[str, set[str]] = {}
    for table, column in rows(
        warehouse,
        """
        select table_name, column_name from information_schema.columns
        where table_schema = 'marts'
    """,
    ):
        built.setdefault(table, set()).add(column)
    assert set(built) == set(documented)
    for table, columns in built.items():
        assert columns == documented[table], table


def test_unspecified_code_rate(warehouse):
    got = rows(
        warehouse,
        """
        select month, coder_id, dx_codes_billed, dx_codes_unspecified, unspecified_code_rate
        from marts.coding_accuracy order by month, coder_id
    """,
    )
    # Billed ICD-10-CM codes and their descriptions in the shipped release:
    # Jan, C1: E1 I10 "Essential (primary) hypertension", E11.9 "Type 2 diabetes mellitus
    #          without complications" (ends in 9, not unspecified); E2 J18.9 "Pneumonia,
    #          unspecified organism"; E5 Z00.00 "... without abnormal findings"
    #          -> 4 billed, 1 unspecified.
    # Feb, C2: E3 R07 is a header (invalid) -> 1 billed, never unspecified.
    assert [approx_row(r) for r in got] == [
        (JAN, "C1", 4, 1, 0.25),
        (FEB, "C2", 1, 0, 0.0),
    ]


def test_charge_lag(warehouse):
    got = rows(
        warehouse,
        """
        select month, department_id, charge_lines, charge_lag_days_total, avg_charge_lag_days,
               p90_charge_lag_days, max_charge_lag_days, charge_lines_late, late_charge_rate,
               charges, late_charge_amount
        from marts.charge_lag order by month, department_id
    """,
    )
    # lag = posted - service. Jan LAB: CH03 7 days (E1 inpatient discharged Jan 6, posted
    # Jan 12: 6 > 4 -> late, $50), CH06 0, CH07 1 (credit) -> 8 days / 3, sorted 0 1 7,
    # p90 = 3rd (ceil 2.7). MEDSURG: CH01 0, CH02 1 -> p90 = 2nd (ceil 1.8) = 1.
    assert [approx_row(r) for r in got] == [
        (JAN, "F01-CLINIC", 2, 0, 0.0, 0, 0, 0, 0.0, D("380.00"), D("0.00")),
        (JAN, "F01-LAB", 3, 8, 8 / 3, 7, 7, 1, 1 / 3, D("50.00"), D("50.00")),
        (JAN, "F01-MEDSURG", 2, 1, 0.5, 1, 1, 0, 0.0, D("1300.00"), D("0.00")),
        (JAN, "F01-RAD", 1, 1, 1.0, 1, 1, 0, 0.0, D("150.00"), D("0.00")),
        (FEB, "F01-CARD", 3, 0, 0.0, 0, 0, 0, 0.0, D("410.00"), D("0.00")),
        (FEB, "F01-ED", 1, 0, 0.0, 0, 0, 0, 0.0, D("800.00"), D("0.00")),
    ]


def test_patient_key_is_salted_sha256(warehouse):
    import hashlib

    sql = "select patient_key from marts.dim_encounters where encounter_id = 'E2'"
    (key,) = rows(warehouse, sql)[0]
    # E2's MRN is MRN2; default salt 'rcm' (dbt var patient_key_salt)
    assert key == hashlib.sha256(b"rcm|MRN2").hexdigest()


def _mart_models(manifest: dict) -> dict[str, dict]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1] == "marts"
    }


def test_every_mart_column_has_a_description_in_the_docs(built, tmp_path):
    """`dbt docs generate`: every column of every mart in catalog.json is described."""
    warehouse, workdir = built
    # the build already compiled every node and wrote the manifest: the catalog is all that
    # is left to make (`--no-compile` writes catalog.json only)
    dbt_invoke(["docs", "generate", "--no-compile"], warehouse, tmp_path)
    manifest = read_artifact(workdir, "manifest.json")
    catalog = read_artifact(tmp_path, "catalog.json")
    marts = _mart_models(manifest)
    assert {"coding_accuracy", "charge_lag", "dim_encounters"} <= set(marts)
    missing = []
    for name, node in marts.items():
        assert node["description"].strip(), f"{name}: no model description"
        built_columns = catalog["nodes"][node["unique_id"]]["columns"]
        described = {
            column.lower(): (spec.get("description") or "").strip()
            for column, spec in node["columns"].items()
        }
        missing += [
            f"{name}.{column}" for column in built_columns if not described.get(column.lower())
        ]
    assert not missing, f"mart columns without a description: {missing}"


def test_every_mart_has_the_phi_column_test(built, tmp_path):
    """no_phi_columns runs on every mart, and fails on a mart that exposes a birth date."""
    import shutil

    warehouse, workdir = built
    manifest = read_artifact(workdir, "manifest.json")
    tested = {
        node["attached_node"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and (node.get("test_metadata") or {}).get("name") == "no_phi_columns"
    }
    assert {node["unique_id"] for node in _mart_models(manifest).values()} <= tested
    # a copy of the warehouse whose dim_encounters leaks the MRN and the birth date
    leaky = tmp_path / "leaky.duckdb"
    shutil.copy(warehouse, leaky)
    con = duckdb.connect(str(leaky))
    try:
        con.execute("alter table marts.dim_encounters add column patient_birth_date date")
        con.execute("alter table marts.dim_encounters add column Patient_MRN varchar")
    finally:
        con.close()
    result = dbt_invoke(
        ["test", "--select", "dim_encounters,test_name:no_phi_columns"],
        leaky,
        tmp_path,
        expect_success=False,
    )
    outcomes = [(r.node.name, str(r.status), r.failures) for r in result.result.results]
    assert len(outcomes) == 1 and outcomes[0][1] == "fail" and outcomes[0][2] == 2, outcomes


def test_full_build_keeps_the_first_row_of_a_charge_id_raw_repeats(built, tmp_path):
    """The loader never writes a charge_id twice, so a full build of stg_ehr__charges skips
    its deduplication unless raw repeats one: a copy planted in raw (later load, another
    amount) must not reach staging, and the first row (earliest load id) is kept."""
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(built[0].read_bytes())
    con = duckdb.connect(str(warehouse))
    try:
        (charge_id, first_amount, first_load, count_before) = con.execute(
            "select min(charge_id), min_by(charge_amount, charge_id), min_by(load_id, charge_id), "
            "count(*) from staging.stg_ehr__charges"
        ).fetchone()
        con.execute(
            "insert into raw.charges select * replace ("
            "charge_amount + 1000 as charge_amount, 'zz-later:copy' as _load_id) "
            "from raw.charges where charge_id = ?",
            [charge_id],
        )
    finally:
        con.close()
    dbt_invoke(["run", "--full-refresh", "--select", "stg_ehr__charges"], warehouse, tmp_path)
    assert rows(warehouse, "select count(*) from staging.stg_ehr__charges") == [(count_before,)]
    kept = rows(
        warehouse,
        "select charge_amount, load_id from staging.stg_ehr__charges "
        f"where charge_id = '{charge_id}'",
    )
    assert kept == [(first_amount, first_load)]


def test_compile_before_the_first_build(tmp_path):
    """`dbt compile` on a warehouse with raw data but no model built yet succeeds: the key
    tests of the incremental models, which query their table when compiled, take a table
    that does not exist yet as a whole-table check."""
    path = tmp_path / "warehouse.duckdb"
    build_warehouse(path)
    dbt_invoke(["compile"], path, tmp_path)
