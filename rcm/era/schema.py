"""Column layout of the remittance tables: one place for names, types and X12 sources.

`docs/era-tables.md` is rendered from this module (see `render_markdown`), and every table
the parser returns is conformed to it, so an empty table still has its full schema.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

MONEY = pl.Decimal(18, 2)
TEXT = pl.String
DATE = pl.Date
INT = pl.Int64
QTY = pl.Float64
BOOL = pl.Boolean


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    source: str
    meaning: str


def _c(name: str, dtype: pl.DataType, source: str, meaning: str) -> Column:
    return Column(name, dtype, source, meaning)


def _trace(position_meaning: str) -> list[Column]:
    return [
        _c("source_file", TEXT, "-", "name of the file the row was read from"),
        _c("file_sha256", TEXT, "-", "SHA-256 of the file's bytes"),
        _c("interchange_control_number", TEXT, "ISA13", "interchange the row belongs to"),
        _c("group_control_number", TEXT, "GS06", "functional group the row belongs to"),
        _c("transaction_control_number", TEXT, "ST02", "transaction set the row belongs to"),
        _c("segment_position", INT, "-", position_meaning),
    ]


_POS = "1-based ordinal in the file (ISA = 1) of the {} segment"

PAYMENTS = [
    _c("payment_key", TEXT, "-", "`<sha16>-<ISA13>-<ST02>-<position of ST>`; unique per 835"),
    *_trace(_POS.format("ST")),
    _c("implementation_version", TEXT, "ST03 / GS08", "e.g. 005010X221A1, 004010X091A1"),
    _c("transaction_handling_code", TEXT, "BPR01", "I remittance+payment, H notification, ..."),
    _c("total_payment_amount", MONEY, "BPR02", "total actual provider payment"),
    _c("credit_debit_flag", TEXT, "BPR03", "C credit, D debit"),
    _c("payment_method_code", TEXT, "BPR04", "ACH, CHK, BOP, FWT, NON"),
    _c("payment_format_code", TEXT, "BPR05", "CCP, CTX"),
    _c("payment_date", DATE, "BPR16", "check issue or EFT effective date"),
    _c("trace_type_code", TEXT, "TRN01", "1 current transaction"),
    _c("trace_number", TEXT, "TRN02", "check or EFT trace number"),
    _c("trace_originator_id", TEXT, "TRN03", "payer identifier (1 + TIN)"),
    _c("production_date", DATE, "DTM*405 DTM02", "date the payer produced the remittance"),
    _c("payer_name", TEXT, "N1*PR N102", "payer name"),
    _c("payer_id_qualifier", TEXT, "N1*PR N103", "XV (CMS plan id) or blank"),
    _c("payer_identifier", TEXT, "N1*PR N104", "payer identifier"),
    _c("payer_id", TEXT, "derived", "N104 of N1*PR when present, else N102 (domain rule)"),
    _c("payee_name", TEXT, "N1*PE N102", "payee (provider) name"),
    _c("payee_id_qualifier", TEXT, "N1*PE N103", "XX NPI, FI TIN, ..."),
    _c("payee_identifier", TEXT, "N1*PE N104", "payee identifier"),
    _c("payee_npi", TEXT, "N1*PE N104", "N104 when N103 = XX"),
    _c("remittance_date", DATE, "derived", "BPR16 when present, else DTM*405 (domain rule)"),
    _c("claim_count", INT, "derived", "CLP segments in the transaction"),
    _c("claim_paid_amount", MONEY, "derived", "sum of CLP04 over the transaction"),
    _c("provider_adjustment_amount", MONEY, "derived", "sum of PLB amounts (positive reduces)"),
    _c("is_balanced", BOOL, "derived", "sum CLP04 - sum PLB = BPR02 (negated when BPR03 = D)"),
    _c("is_envelope_valid", BOOL, "derived", "ST02 = SE02 and SE01 = segments ST..SE"),
]

CLAIMS = [
    _c("claim_key", TEXT, "-", "`<sha16>-<ISA13>-<ST02>-<position of CLP>`"),
    _c("payment_key", TEXT, "-", "the claim's payment (transaction)"),
    *_trace(_POS.format("CLP")),
    _c("header_number", TEXT, "LX01", "claim group (2000 loop) the claim sits in"),
    _c("patient_control_number", TEXT, "CLP01", "PHI-adjacent; the provider's claim_id"),
    _c("claim_status_code", TEXT, "CLP02", "1/2/3 primary/secondary/tertiary, 4 denied, 22 ..."),
    _c("total_charge_amount", MONEY, "CLP03", "submitted charges (negative on reversals)"),
    _c("paid_amount", MONEY, "CLP04", "claim payment amount"),
    _c("patient_responsibility_amount", MONEY, "CLP05", "patient responsibility"),
    _c("claim_filing_indicator_code", TEXT, "CLP06", "12 PPO, MC Medicaid, MA/MB Medicare ..."),
    _c("payer_claim_control_number", TEXT, "CLP07", "payer's internal claim number (ICN)"),
    _c("facility_type_code", TEXT, "CLP08", "place of service / bill type first digits"),
    _c("claim_frequency_code", TEXT, "CLP09", "1 original, 7 replacement, 8 void"),
    _c("drg_code", TEXT, "CLP11", "DRG (inpatient)"),
    _c("drg_weight", QTY, "CLP12", "DRG weight"),
    _c("discharge_fraction", QTY, "CLP13", "discharge fraction"),
    _c("is_reversal", BOOL, "derived", "CLP02 = 22"),
    _c("patient_last_name", TEXT, "NM1*QC NM103", "PHI"),
    _c("patient_first_name", TEXT, "NM1*QC NM104", "PHI"),
    _c("patient_middle_name", TEXT, "NM1*QC NM105", "PHI"),
    _c("patient_id_qualifier", TEXT, "NM1*QC NM108", "MI member id, ..."),
    _c("patient_identifier", TEXT, "NM1*QC NM109", "PHI: member id"),
    _c("insured_last_name", TEXT, "NM1*IL NM103", "PHI (subscriber when not the patient)"),
    _c("insured_first_name", TEXT, "NM1*IL NM104", "PHI"),
    _c("insured_identifier", TEXT, "NM1*IL NM109", "PHI: subscriber id"),
    _c("corrected_insured_identifier", TEXT, "NM1*74 NM109", "PHI: corrected member id"),
    _c("rendering_provider_id_qualifier", TEXT, "NM1*82 NM108", "XX NPI, ..."),
    _c("rendering_provider_identifier", TEXT, "NM1*82 NM109", "rendering provider"),
    _c("crossover_carrier_name", TEXT, "NM1*TT NM103", "payer the claim was forwarded to"),
    _c("corrected_priority_payer_name", TEXT, "NM1*PR NM103", "priority payer"),
    _c("statement_from_date", DATE, "DTM*232 DTM02", "claim statement period start"),
    _c("statement_to_date", DATE, "DTM*233 DTM02", "claim statement period end"),
    _c("claim_received_date", DATE, "DTM*050 DTM02", "received by payer"),
    _c("coverage_amount", MONEY, "AMT*AU AMT02", "coverage amount"),
    _c("interest_amount", MONEY, "AMT*I AMT02", "claim interest"),
    _c("prompt_pay_discount_amount", MONEY, "AMT*D8 AMT02", "prompt pay discount"),
    _c("patient_amount_paid", MONEY, "AMT*F5 AMT02", "amount the patient paid"),
    _c("mia_covered_days", QTY, "MIA01", "inpatient covered days or visits"),
    _c("mia_pps_operating_outlier_amount", MONEY, "MIA02", "PPS operating outlier"),
    _c("mia_claim_drg_amount", MONEY, "MIA04", "claim DRG amount"),
    _c("moa_reimbursement_rate", QTY, "MOA01", "outpatient reimbursement rate"),
    _c("moa_hcpcs_payable_amount", MONEY, "MOA02", "claim HCPCS payable amount"),
    _c("moa_esrd_payment_amount", MONEY, "MOA08", "ESRD payment amount"),
    _c("claim_adjustment_amount", MONEY, "derived", "sum of claim-level CAS amounts"),
    _c("line_adjustment_amount", MONEY, "derived", "sum of line-level CAS amounts"),
    _c("service_line_count", INT, "derived", "SVC segments under the claim"),
    _c("is_balanced", BOOL, "derived", "CLP03 - claim CAS - line CAS = CLP04"),
]

_ADJ = [
    _c("triplet_index", INT, "-", "1..6: which reason/amount/quantity triplet of the CAS"),
    _c("group_code", TEXT, "CAS01", "CO, PR, OA, PI (CR in 4010)"),
    _c("reason_code", TEXT, "CAS02/05/08/11/14/17", "claim adjustment reason code (CARC)"),
    _c("adjustment_amount", MONEY, "CAS03/06/09/12/15/18", "positive reduces payment"),
    _c("adjustment_quantity", QTY, "CAS04/07/10/13/16/19", "units adjusted"),
]

CLAIM_ADJUSTMENTS = [
    _c("adjustment_key", TEXT, "-", "`<claim_key>-<position of CAS>-<triplet_index>`"),
    _c("claim_key", TEXT, "-", "claim the adjustment belongs to"),
    _c("payment_key", TEXT, "-", "payment (transaction)"),
    *_trace(_POS.format("CAS")),
    *_ADJ,
]

SERVICE_LINES = [
    _c("service_line_key", TEXT, "-", "`<sha16>-<ISA13>-<ST02>-<position of SVC>`"),
    _c("claim_key", TEXT, "-", "claim the line belongs to"),
    _c("payment_key", TEXT, "-", "payment (transaction)"),
    *_trace(_POS.format("SVC")),
    _c("procedure_qualifier", TEXT, "SVC01-1", "HC CPT/HCPCS, NU revenue code, ..."),
    _c("procedure_code", TEXT, "SVC01-2", "procedure or revenue code"),
    _c("modifier_1", TEXT, "SVC01-3", "procedure modifier"),
    _c("modifier_2", TEXT, "SVC01-4", "procedure modifier"),
    _c("modifier_3", TEXT, "SVC01-5", "procedure modifier"),
    _c("modifier_4", TEXT, "SVC01-6", "procedure modifier"),
    _c("procedure_description", TEXT, "SVC01-7", "description"),
    _c("line_charge_amount", MONEY, "SVC02", "line item charge"),
    _c("line_paid_amount", MONEY, "SVC03", "line item provider payment"),
    _c("revenue_code", TEXT, "SVC04", "NUBC revenue code"),
    _c("units_paid", QTY, "SVC05", "units of service paid"),
    _c("original_procedure_qualifier", TEXT, "SVC06-1", "when the payer re-coded the line"),
    _c("original_procedure_code", TEXT, "SVC06-2", "procedure code as submitted"),
    _c("original_modifier_1", TEXT, "SVC06-3", "submitted modifier"),
    _c("original_modifier_2", TEXT, "SVC06-4", "submitted modifier"),
    _c("original_units", QTY, "SVC07", "units as submitted"),
    _c("service_date", DATE, "DTM*472 DTM02", "date of service"),
    _c("service_start_date", DATE, "DTM*150 DTM02", "service period start"),
    _c("service_end_date", DATE, "DTM*151 DTM02", "service period end"),
    _c("line_control_number", TEXT, "REF*6R REF02", "provider line item control number"),
    _c("allowed_amount", MONEY, "AMT*B6 AMT02", "allowed (actual) amount"),
    _c("line_adjustment_amount", MONEY, "derived", "sum of the line's CAS amounts"),
    _c("is_balanced", BOOL, "derived", "SVC02 - line CAS = SVC03"),
]

LINE_ADJUSTMENTS = [
    _c("adjustment_key", TEXT, "-", "`<service_line_key>-<position of CAS>-<triplet_index>`"),
    _c("service_line_key", TEXT, "-", "service line the adjustment belongs to"),
    _c("claim_key", TEXT, "-", "claim"),
    _c("payment_key", TEXT, "-", "payment (transaction)"),
    *_trace(_POS.format("CAS")),
    *_ADJ,
]

REMARKS = [
    _c("remark_key", TEXT, "-", "`<sha16>-<ISA13>-<ST02>-<position>-<element>`"),
    _c("claim_key", TEXT, "-", "claim"),
    _c("service_line_key", TEXT, "-", "service line (null for claim-level MIA/MOA remarks)"),
    _c("payment_key", TEXT, "-", "payment (transaction)"),
    *_trace(_POS.format("LQ, MIA or MOA")),
    _c("level", TEXT, "-", "`line` (LQ) or `claim` (MIA/MOA)"),
    _c("source_element", TEXT, "-", "LQ02, MIA05, MIA20-23, MOA03-07"),
    _c(
        "code_list_qualifier",
        TEXT,
        "LQ01",
        "HE remark code (RARC), RX NCPDP reject; HE for MIA/MOA",
    ),
    _c("remark_code", TEXT, "LQ02 / MIA / MOA", "remittance advice remark code"),
]

PROVIDER_ADJUSTMENTS = [
    _c("provider_adjustment_key", TEXT, "-", "`<payment_key>-<position of PLB>-<pair_index>`"),
    _c("payment_key", TEXT, "-", "payment (transaction)"),
    *_trace(_POS.format("PLB")),
    _c("provider_identifier", TEXT, "PLB01", "provider (NPI or TIN)"),
    _c("fiscal_period_date", DATE, "PLB02", "last day of the provider's fiscal year"),
    _c("pair_index", INT, "-", "1..6: which reason/amount pair of the PLB"),
    _c("adjustment_reason_code", TEXT, "PLB03-1 ...", "WO, L6, FB, 72, CS, ..."),
    _c("reference_identifier", TEXT, "PLB03-2 ...", "reference (e.g. the recouped claim's ICN)"),
    _c("adjustment_amount", MONEY, "PLB04/06/08/10/12/14", "positive reduces the payment"),
]

FINDINGS = [
    _c("source_file", TEXT, "-", "file the finding is about"),
    _c("file_sha256", TEXT, "-", "null when the file could not be read"),
    _c("interchange_control_number", TEXT, "ISA13", "when known"),
    _c("group_control_number", TEXT, "GS06", "when known"),
    _c("transaction_control_number", TEXT, "ST02", "when known"),
    _c("segment_position", INT, "-", "segment the finding points at, when known"),
    _c("check", TEXT, "-", "input, envelope, transaction, balance_line, balance_claim, ..."),
    _c("severity", TEXT, "-", "`error` (data not convertible or does not balance) or `warning`"),
    _c("reason", TEXT, "-", "one line, PHI-free"),
    _c("payment_key", TEXT, "-", "when the finding concerns a transaction"),
    _c("claim_key", TEXT, "-", "when the finding concerns a claim or line"),
]

TABLES: dict[str, list[Column]] = {
    "payments": PAYMENTS,
    "claims": CLAIMS,
    "claim_adjustments": CLAIM_ADJUSTMENTS,
    "service_lines": SERVICE_LINES,
    "line_adjustments": LINE_ADJUSTMENTS,
    "remarks": REMARKS,
    "provider_adjustments": PROVIDER_ADJUSTMENTS,
    "findings": FINDINGS,
}


def polars_schema(table: str) -> pl.Schema:
    return pl.Schema({col.name: col.dtype for col in TABLES[table]})


def empty(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=polars_schema(table))


def conform(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Select the table's columns in order with their declared types (missing ones null)."""
    names = set(frame.columns)
    return frame.select(
        [
            (pl.col(col.name) if col.name in names else pl.lit(None))
            .cast(col.dtype)
            .alias(col.name)
            for col in TABLES[table]
        ]
    )


def render_markdown() -> str:
    """The table reference in docs/era-tables.md (kept in sync by a test)."""
    out: list[str] = []
    for table, columns in TABLES.items():
        out.append(f"### {table}\n")
        out.append("| column | type | X12 source | meaning |")
        out.append("|---|---|---|---|")
        for col in columns:
            dtype = _type_name(col.dtype)
            out.append(f"| {col.name} | {dtype} | {col.source} | {col.meaning} |")
        out.append("")
    return "\n".join(out)


def _type_name(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return "DECIMAL(18,2)"
    return {
        pl.String: "TEXT",
        pl.Date: "DATE",
        pl.Int64: "BIGINT",
        pl.Float64: "DOUBLE",
        pl.Boolean: "BOOLEAN",
    }[dtype]
