"""Hand-written edge cases: each asserts what an analyst would expect in the tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from rcm.era import parse_835_files


def parse(fixtures, name):
    tables = parse_835_files([fixtures / name])
    assert tables.findings.height == 0, tables.findings.select("reason").to_series().to_list()
    return tables


def test_cas_with_six_triplets_gives_six_rows(fixtures):
    t = parse(fixtures, "cas_six_triplets.835")
    adj = t.line_adjustments.sort("segment_position", "triplet_index")
    co = adj.filter(group_code="CO")
    assert co.get_column("triplet_index").to_list() == [1, 2, 3, 4, 5, 6]
    assert co.get_column("reason_code").to_list() == ["45", "97", "253", "59", "4", "B7"]
    assert co.get_column("adjustment_amount").sum() == Decimal("450.00")
    assert co.get_column("adjustment_quantity").to_list()[:4] == [1.0, None, None, 2.0]
    assert adj.filter(group_code="PR").height == 2
    assert adj.get_column("claim_key").n_unique() == 1
    line = t.service_lines.row(0, named=True)
    assert (line["procedure_qualifier"], line["procedure_code"], line["modifier_1"]) == (
        "HC",
        "99285",
        "25",
    )
    assert line["revenue_code"] == "0450" and line["allowed_amount"] == Decimal("700.00")
    assert line["line_control_number"] == "L1" and line["service_date"] == dt.date(2026, 1, 10)
    assert line["is_balanced"]


def test_inpatient_drg_claim_with_claim_level_cas_only(fixtures):
    t = parse(fixtures, "inpatient_drg_claim_level.835")
    claim = t.claims.row(0, named=True)
    assert claim["drg_code"] == "470" and claim["drg_weight"] == 1.9876
    assert claim["service_line_count"] == 0 and t.service_lines.height == 0
    assert claim["claim_adjustment_amount"] == Decimal("16500.00")
    assert claim["mia_claim_drg_amount"] == Decimal("8500.00")
    assert t.claim_adjustments.get_column("group_code").to_list() == ["CO", "PR"]
    assert t.remarks.select("source_element", "remark_code").rows() == [("MIA05", "MA01")]
    assert claim["statement_from_date"] == dt.date(2026, 1, 3)


def test_reversal_and_correction_are_kept_not_netted(fixtures):
    t = parse(fixtures, "reversal_correction.835")
    claims = t.claims.sort("segment_position")
    assert claims.get_column("claim_status_code").to_list() == ["22", "1"]
    assert claims.get_column("is_reversal").to_list() == [True, False]
    assert claims.get_column("paid_amount").to_list() == [Decimal("-300.00"), Decimal("350.00")]
    assert claims.get_column("claim_frequency_code").to_list() == ["8", "7"]
    assert claims.get_column("claim_key").n_unique() == 2
    amounts = t.claim_adjustments.get_column("adjustment_amount").to_list()
    assert amounts == [Decimal("-150.00"), Decimal("-50.00"), Decimal("100.00"), Decimal("50.00")]
    assert t.payments.row(0, named=True)["total_payment_amount"] == Decimal("50.00")


def test_plb_one_row_per_pair(fixtures):
    t = parse(fixtures, "plb_pairs.835")
    plb = t.provider_adjustments
    assert plb.select(
        "adjustment_reason_code", "reference_identifier", "adjustment_amount"
    ).rows() == [
        ("WO", "ICN-OLD-1", Decimal("200.00")),
        ("L6", "INT1", Decimal("-15.50")),
        ("FB", "FB001", Decimal("100.00")),
        ("72", "ADV9", Decimal("50.00")),
    ]
    assert plb.get_column("pair_index").to_list() == [1, 2, 3, 1]
    assert plb.get_column("fiscal_period_date").to_list()[0] == dt.date(2026, 12, 31)
    pay = t.payments.row(0, named=True)
    assert pay["provider_adjustment_amount"] == Decimal("334.50") and pay["is_balanced"]


def test_line_level_denial_inside_a_paid_claim(fixtures):
    t = parse(fixtures, "line_denial_in_paid_claim.835")
    lines = t.service_lines.sort("segment_position")
    assert lines.get_column("line_paid_amount").to_list() == [Decimal("300.00"), Decimal("0.00")]
    assert lines.get_column("modifier_1").to_list() == [None, "GP"]
    denied = t.line_adjustments.filter(reason_code="50").row(0, named=True)
    assert denied["service_line_key"] == lines.get_column("service_line_key")[1]
    assert t.remarks.row(0, named=True)["service_line_key"] == denied["service_line_key"]
    assert t.claims.row(0, named=True)["paid_amount"] == Decimal("300.00")


def test_zero_pay_full_denial(fixtures):
    t = parse(fixtures, "zero_pay_denial.835")
    claim = t.claims.row(0, named=True)
    assert claim["paid_amount"] == Decimal("0.00") and claim["claim_status_code"] == "4"
    assert t.remarks.get_column("remark_code").to_list() == ["MA130", "N382"]
    pay = t.payments.row(0, named=True)
    assert pay["transaction_handling_code"] == "H" and pay["payment_method_code"] == "NON"
    assert pay["total_payment_amount"] == Decimal("0.00") and pay["is_balanced"]
    assert pay["remittance_date"] == dt.date(2026, 2, 1)


def test_empty_optional_elements_are_null(fixtures):
    t = parse(fixtures, "empty_optional_elements.835")
    claim = t.claims.row(0, named=True)
    assert claim["patient_responsibility_amount"] is None
    assert claim["payer_claim_control_number"] is None and claim["facility_type_code"] is None
    assert claim["claim_frequency_code"] == "1"
    assert claim["patient_first_name"] is None and claim["patient_identifier"] == "MEM207"
    line = t.service_lines.row(0, named=True)
    assert (line["modifier_1"], line["modifier_2"]) == (None, "59")
    assert line["revenue_code"] is None


def test_repetition_separator_and_two_transactions(fixtures):
    t = parse(fixtures, "repetition_separator.835")
    assert t.payments.height == 2
    pay = t.payments.sort("segment_position")
    assert pay.get_column("payer_name").to_list() == ["PAYER WITH * AND : IN NAME"] * 2
    assert pay.get_column("payer_id").to_list() == ["P208", "P208"]
    # BPR16 first; the second transaction has no BPR16, so DTM*405 is used
    assert pay.get_column("remittance_date").to_list() == [
        dt.date(2026, 2, 1),
        dt.date(2026, 1, 30),
    ]
    line = t.service_lines.row(0, named=True)
    assert [line[f"modifier_{i}"] for i in (1, 2, 3)] == ["25", "59", None]
    claims = t.claims.sort("segment_position")
    assert claims.get_column("patient_last_name").to_list() == ["ROE*TEST", "ROE"]
    assert claims.get_column("payment_key").n_unique() == 2


def test_4010_file_with_cr_group(fixtures):
    t = parse(fixtures, "legacy_4010_cr.835")
    assert t.payments.row(0, named=True)["implementation_version"] == "004010X091A1"
    assert t.claim_adjustments.get_column("group_code").to_list() == ["CR"]
    assert t.line_adjustments.get_column("group_code").to_list() == ["CO", "PR"]
    assert t.claims.row(0, named=True)["is_balanced"]


def test_every_row_is_traceable(fixtures):
    t = parse_835_files(sorted(fixtures.glob("*.835")))
    for name, frame in t.items():
        if name == "findings":
            continue
        for column in (
            "source_file",
            "file_sha256",
            "interchange_control_number",
            "group_control_number",
            "transaction_control_number",
            "segment_position",
        ):
            assert frame.get_column(column).null_count() == 0, (name, column)
    keys = {
        "payments": "payment_key",
        "claims": "claim_key",
        "service_lines": "service_line_key",
        "claim_adjustments": "adjustment_key",
        "line_adjustments": "adjustment_key",
        "remarks": "remark_key",
        "provider_adjustments": "provider_adjustment_key",
    }
    for name, key in keys.items():
        frame = t.table(name)
        assert frame.get_column(key).is_unique().all(), name
    claim_keys = set(t.claims.get_column("claim_key"))
    assert set(t.service_lines.get_column("claim_key")) <= claim_keys
    assert set(t.claim_adjustments.get_column("claim_key")) <= claim_keys
    assert set(t.line_adjustments.get_column("service_line_key")) <= set(
        t.service_lines.get_column("service_line_key")
    )
    assert set(t.claims.get_column("payment_key")) <= set(t.payments.get_column("payment_key"))
    assert t.claims.schema["paid_amount"] == pl.Decimal(18, 2)
    assert t.payments.schema["remittance_date"] == pl.Date
