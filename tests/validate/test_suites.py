"""Each suite passes on good batches and fails on deliberately broken copies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from expectations import SUITES
from rcm.validate import validate_batch

BATCH_TABLES = {
    "encounters": "raw.encounters",
    "charges": "raw.charges",
    "remittances": "raw.remit_claims",
}


@dataclass(frozen=True)
class Defect:
    id: str
    extract: str
    sql: str  # `{t}` = the broken copy of the batch table, `{s}` = its schema
    breaks: str  # start of the description of the expectation it must fail
    isolated: bool = False  # table-level: validated on its own copy


def _row(table_key: str, key: str) -> str:
    return f"where {table_key} = '{key}'"


ENC, CHG = "encounter_id", "charge_id"
P1 = "where claim_key = 'K-P1-{}'"

DEFECTS = [
    # encounters: one defect per row (E0001 is the planted patient and stays good)
    Defect(
        "enc-missing-column",
        "encounters",
        "alter table {t} drop column coder_id",
        "All contract columns",
        isolated=True,
    ),
    Defect(
        "enc-null-key",
        "encounters",
        "update {t} set encounter_id = null " + _row(ENC, "E0002"),
        "Every row has an encounter id",
    ),
    Defect(
        "enc-duplicate-key",
        "encounters",
        "update {t} set encounter_id = 'E0003' " + _row(ENC, "E0004"),
        "An encounter appears once",
    ),
    Defect(
        "enc-null-patient",
        "encounters",
        "update {t} set patient_id = null " + _row(ENC, "E0005"),
        "Every encounter names its patient",
    ),
    Defect(
        "enc-null-facility",
        "encounters",
        "update {t} set facility_id = null " + _row(ENC, "E0006"),
        "Every encounter has a facility",
    ),
    Defect(
        "enc-null-admit",
        "encounters",
        "update {t} set admit_date = null " + _row(ENC, "E0007"),
        "Every encounter has an admit date",
    ),
    Defect(
        "enc-null-updated",
        "encounters",
        "update {t} set updated_at = null " + _row(ENC, "E0008"),
        "Every row is versioned",
    ),
    Defect(
        "enc-bad-type",
        "encounters",
        "update {t} set encounter_type = 'inpatinet' " + _row(ENC, "E0009"),
        "Encounter type is",
    ),
    Defect(
        "enc-bad-sex",
        "encounters",
        "update {t} set patient_sex = 'X' " + _row(ENC, "E0010"),
        "Patient sex is",
    ),
    Defect(
        "enc-bad-date",
        "encounters",
        "update {t} set discharge_date = '03/15/2026' " + _row(ENC, "E0011"),
        "Admit, discharge and birth dates are ISO",
    ),
    Defect(
        "enc-bad-timestamp",
        "encounters",
        "update {t} set coded_at = 'yesterday' " + _row(ENC, "E0012"),
        "Workflow timestamps",
    ),
    Defect(
        "enc-discharge-before-admit",
        "encounters",
        "update {t} set discharge_date = '2026-01-01' " + _row(ENC, "E0013"),
        "Discharge is on or after admit",
    ),
    Defect(
        "enc-future-birth",
        "encounters",
        "update {t} set patient_birth_date = '2999-01-01' " + _row(ENC, "E0014"),
        "No birth date in the future",
    ),
    Defect(
        "enc-born-after-admit",
        "encounters",
        "update {t} set patient_birth_date = '2026-03-20' " + _row(ENC, "E0015"),
        "The patient is born by admission",
    ),
    Defect(
        "enc-dx-systemic",
        "encounters",
        "update {t} set documented_dx_codes = '12345'",
        "Documented diagnoses look like ICD-10-CM (systemic",
    ),
    Defect(
        "enc-px-systemic",
        "encounters",
        "update {t} set documented_px_codes = 'E11.9'",
        "Documented procedures look like CPT/HCPCS (systemic",
    ),
    # charges (CH00001 carries the planted claim id and stays good)
    Defect(
        "chg-missing-column",
        "charges",
        "alter table {t} drop column cdm_code",
        "All contract columns",
        isolated=True,
    ),
    Defect(
        "chg-null-key",
        "charges",
        "update {t} set charge_id = null " + _row(CHG, "CH00002"),
        "Every line has a charge id",
    ),
    Defect(
        "chg-duplicate-key",
        "charges",
        "update {t} set charge_id = 'CH00003' " + _row(CHG, "CH00004"),
        "A charge line appears once",
    ),
    Defect(
        "chg-null-encounter",
        "charges",
        "update {t} set encounter_id = null " + _row(CHG, "CH00005"),
        "Every line belongs to an encounter",
    ),
    Defect(
        "chg-null-facility",
        "charges",
        "update {t} set facility_id = null " + _row(CHG, "CH00006"),
        "Every line has a facility",
    ),
    Defect(
        "chg-null-service-date",
        "charges",
        "update {t} set service_date = null " + _row(CHG, "CH00007"),
        "Every line has a service date",
    ),
    Defect(
        "chg-null-amount",
        "charges",
        "update {t} set charge_amount = null " + _row(CHG, "CH00008"),
        "Every line has an amount",
    ),
    Defect(
        "chg-bad-cost-category",
        "charges",
        "update {t} set cost_category = 'lab' " + _row(CHG, "CH00009"),
        "Cost category is",
    ),
    Defect(
        "chg-bad-date",
        "charges",
        "update {t} set posted_date = '2026-13-45' " + _row(CHG, "CH00010"),
        "Service and posted dates are ISO",
    ),
    Defect(
        "chg-bad-amount",
        "charges",
        "update {t} set charge_amount = '$12.50' " + _row(CHG, "CH00011"),
        "Amounts are decimals",
    ),
    Defect(
        "chg-amount-out-of-range",
        "charges",
        "update {t} set charge_amount = '20000000.00' " + _row(CHG, "CH00012"),
        "Charge amount within",
    ),
    Defect(
        "chg-zero-units",
        "charges",
        "update {t} set units = '0' " + _row(CHG, "CH00013"),
        "A positive charge has positive units",
    ),
    Defect(
        "chg-bad-revenue-code",
        "charges",
        "update {t} set revenue_code = '300' " + _row(CHG, "CH00014"),
        "Revenue code is 4 digits",
    ),
    Defect(
        "chg-hcpcs-systemic",
        "charges",
        "update {t} set hcpcs_code = 'ABCDE'",
        "HCPCS codes look like CPT/HCPCS (systemic",
    ),
    Defect(
        "chg-dx-systemic",
        "charges",
        "update {t} set billed_dx_codes = '99213'",
        "Billed diagnoses look like ICD-10-CM (systemic",
    ),
    # remittances: the broken copy is a whole schema of parser tables
    Defect(
        "rem-missing-column",
        "remittances",
        "alter table {t} drop column patient_responsibility_amount",
        "All claim columns",
        isolated=True,
    ),
    Defect(
        "rem-null-payment",
        "remittances",
        "update {t} set payment_key = null where claim_key = 'K-P2-2'",
        "Every claim belongs to a payment",
    ),
    Defect(
        "rem-null-key",
        "remittances",
        "update {t} set claim_key = null where claim_key = 'K-P1-11'",
        "Every claim has a key",
    ),
    Defect(
        "rem-duplicate-claim",
        "remittances",
        "update {t} set claim_key = 'K-P1-5' where claim_key = 'K-P1-4'",
        "A claim appears once",
    ),
    Defect(
        "rem-null-pcn",
        "remittances",
        "update {t} set patient_control_number = null " + P1.format(2),
        "Every claim has a patient control number",
    ),
    Defect(
        "rem-bad-status",
        "remittances",
        "update {t} set claim_status_code = '99' " + P1.format(6),
        "CLP02 is",
    ),
    Defect(
        "rem-null-charge",
        "remittances",
        "update {t} set total_charge_amount = null " + P1.format(7),
        "Every claim has a charge",
    ),
    Defect(
        "rem-null-paid",
        "remittances",
        "update {t} set paid_amount = null " + P1.format(8),
        "Every claim has a paid amount",
    ),
    Defect(
        "rem-bad-amount",
        "remittances",
        "alter table {t} alter patient_responsibility_amount type varchar; "
        "update {t} set patient_responsibility_amount = '5O.00' " + P1.format(9),
        "Claim amounts are decimals",
    ),
    Defect(
        "rem-claim-unbalanced",
        "remittances",
        "update {t} set paid_amount = paid_amount + 5 " + P1.format(10),
        "Claim charge = claim paid",
    ),
    Defect(
        "rem-line-unbalanced",
        "remittances",
        "update {s}.remit_service_lines set line_paid_amount = line_paid_amount + 1 "
        "where service_line_key = 'L-K-P1-1-2'",
        "Service line charge",
    ),
    Defect(
        "rem-bpr-unbalanced",
        "remittances",
        "update {s}.remit_payments set total_payment_amount = total_payment_amount + 1 "
        "where payment_key = 'P3'",
        "BPR02 =",
    ),
    Defect(
        "rem-envelope",
        "remittances",
        "update {s}.remit_payments set is_envelope_valid = false where payment_key = 'P2'",
        "Envelope:",
    ),
]


def _broken_copy(con: duckdb.DuckDBPyConnection, extract: str, schema: str) -> str:
    con.execute(f"create schema if not exists {schema}")
    if extract == "remittances":
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'raw' "
            "and table_name like 'remit_%'"
        ).fetchall():
            con.execute(f"create or replace table {schema}.{name} as select * from raw.{name}")
        return f"{schema}.remit_claims"
    table = f"{schema}.{extract}"
    con.execute(f"create or replace table {table} as select * from {BATCH_TABLES[extract]}")
    return table


def _break(con: duckdb.DuckDBPyConnection, extract: str, defects: list[Defect], schema: str) -> str:
    table = _broken_copy(con, extract, schema)
    for defect in defects:
        con.execute(defect.sql.format(t=table, s=schema))
    return table


@pytest.fixture(scope="module")
def broken_outcomes(tmp_path_factory: pytest.TempPathFactory, gx_root: Path):
    """Per extract: one copy carrying every row-level defect (each on its own rows), plus
    one copy per table-level defect. Validated once each to keep the suite fast."""
    import validate_samples

    con = duckdb.connect(str(tmp_path_factory.mktemp("broken") / "warehouse.duckdb"))
    validate_samples.create_encounters(con)
    validate_samples.create_charges(con)
    validate_samples.create_remittances(con)
    outcomes = {}
    for extract in BATCH_TABLES:
        row_level = [d for d in DEFECTS if d.extract == extract and not d.isolated]
        table = _break(con, extract, row_level, f"broken_{extract}")
        outcome = validate_batch(
            con, table, extract, f"broken-{extract}", gx_root=gx_root, update_data_docs=False
        )
        outcomes.update({d.id: outcome for d in row_level})
        for defect in (d for d in DEFECTS if d.extract == extract and d.isolated):
            table = _break(con, extract, [defect], f"broken_{defect.id.replace('-', '_')}")
            outcomes[defect.id] = validate_batch(
                con, table, extract, defect.id, gx_root=gx_root, update_data_docs=False
            )
    con.close()
    return outcomes


@pytest.mark.parametrize("extract", sorted(BATCH_TABLES))
def test_suite_passes_on_good_batch(warehouse, gx_root: Path, extract: str) -> None:
    outcome = validate_batch(
        warehouse, BATCH_TABLES[extract], extract, f"good-{extract}", gx_root=gx_root
    )
    assert [r["description"] for r in outcome.failed()] == []
    assert outcome.success and not outcome.has_critical_failure and outcome.action == "load"
    assert len(outcome.results) == len(SUITES[extract].build_suite().expectations)
    assert outcome.data_docs_index and Path(outcome.data_docs_index).is_file()


def test_typed_batch_passes(warehouse, gx_root: Path) -> None:
    """A loader that types columns (DATE, DECIMAL, INTEGER, LIST) passes the same suites."""
    warehouse.execute("""
        create table raw.charges_typed as select * replace (
            cast(service_date as date) as service_date, cast(posted_date as date) as posted_date,
            cast(units as integer) as units, cast(charge_amount as decimal(18, 2)) as charge_amount,
            cast(cost_amount as decimal(18, 2)) as cost_amount,
            string_split(billed_dx_codes, ';') as billed_dx_codes,
            string_split(modifiers, ';') as modifiers) from raw.charges""")
    outcome = validate_batch(
        warehouse, "raw.charges_typed", "charges", "typed", gx_root=gx_root, update_data_docs=False
    )
    assert outcome.success, [r["description"] for r in outcome.failed()]


@pytest.mark.parametrize("defect", DEFECTS, ids=[d.id for d in DEFECTS])
def test_critical_defect_quarantines(broken_outcomes, defect: Defect) -> None:
    outcome = broken_outcomes[defect.id]
    failed = [r for r in outcome.failed() if r["description"].startswith(defect.breaks)]
    assert failed, f"{defect.breaks!r} did not fail"
    assert all(r["severity"] == "critical" for r in failed)
    assert outcome.has_critical_failure and outcome.action == "quarantine"


def test_single_row_defect_alone_quarantines(warehouse, gx_root: Path) -> None:
    """One bad row is enough: the batch is quarantined, and only that rule fails."""
    [defect] = [d for d in DEFECTS if d.id == "chg-duplicate-key"]
    table = _break(warehouse, "charges", [defect], "broken_single")
    outcome = validate_batch(
        warehouse, table, "charges", "single", gx_root=gx_root, update_data_docs=False
    )
    assert outcome.action == "quarantine"
    assert [r["description"] for r in outcome.failed()] == ["A charge line appears once per batch."]


@pytest.mark.parametrize("extract", sorted(BATCH_TABLES))
def test_every_critical_expectation_has_a_defect(extract: str) -> None:
    covered = [d.breaks for d in DEFECTS if d.extract == extract]
    for expectation in SUITES[extract].build_suite().expectations:
        if str(getattr(expectation.severity, "value", expectation.severity)) == "critical":
            assert any(expectation.description.startswith(b) for b in covered), (
                expectation.description
            )


def test_warning_defect_flags_without_quarantine(warehouse, gx_root: Path) -> None:
    table = _broken_copy(warehouse, "encounters", "broken_warning")
    warehouse.execute(f"update {table} set attending_npi = '1234567890'")  # bad check digit
    outcome = validate_batch(
        warehouse, table, "encounters", "warn", gx_root=gx_root, update_data_docs=False
    )
    assert not outcome.success and not outcome.has_critical_failure
    assert outcome.action == "flag"
    [row] = outcome.failed()
    assert row["column_name"] == "chk_attending_npi_valid" and row["unexpected_count"] == 24


def test_empty_batch_is_flagged_not_quarantined(warehouse, gx_root: Path) -> None:
    """A loader may hand over no rows (all already loaded): a warning, not a quarantine."""
    warehouse.execute("create table raw.charges_empty as from raw.charges limit 0")
    outcome = validate_batch(
        warehouse,
        "raw.charges_empty",
        "charges",
        "empty",
        gx_root=gx_root,
        update_data_docs=False,
    )
    assert outcome.row_count == 0 and outcome.action == "flag"
    assert [r["expectation_type"] for r in outcome.failed()] == [
        "expect_table_row_count_to_be_between"
    ]


def test_remittances_suite_needs_only_the_sibling_columns(
    warehouse, gx_root: Path, broken_outcomes
) -> None:
    """The loader stages of the sibling tables only `SIBLING_COLUMNS`: with siblings cut to
    those columns the suite passes the good batch and fails the broken one exactly as it
    fails the whole copy (same expectations, same unexpected counts)."""
    from expectations.remittances import SIBLING_COLUMNS, TABLES

    def failures(outcome) -> list[tuple]:
        return sorted((r["description"], r.get("unexpected_count")) for r in outcome.failed())

    row_level = [d for d in DEFECTS if d.extract == "remittances" and not d.isolated]
    whole = broken_outcomes[row_level[0].id]
    assert failures(whole)  # the whole copy's failures, the expected ones
    for label, defects in (("good", []), ("broken", row_level)):
        schema = f"narrow_{label}"
        table = _break(warehouse, "remittances", defects, schema)
        for logical, columns in SIBLING_COLUMNS.items():
            sibling = f"{schema}.{TABLES[logical]}"
            warehouse.execute(
                f"create or replace table {sibling} as select {', '.join(columns)} from {sibling}"
            )
        outcome = validate_batch(
            warehouse, table, "remittances", schema, gx_root=gx_root, update_data_docs=False
        )
        assert failures(outcome) == ([] if label == "good" else failures(whole))
