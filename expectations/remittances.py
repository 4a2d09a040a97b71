"""Suite for remittances: the claims table of a parsed X12 835 load, with its sibling tables.

The 835 parser (rcm/era/) writes one table per record type. This suite validates the
*claims* table as the batch and reaches the sibling tables for the balancing and envelope
checks. Every table and column name the suite uses is declared once, in ``TABLES`` and
``COLUMNS`` below, so aligning with the parser's final names is a one-place edit.

Balancing (X12 835 005010X221A1, docs/domain.md): per claim, charge - (claim + line
adjustments) = paid; per service line, charge - line adjustments = paid; per payment,
sum(claim paid) - sum(PLB) = BPR02. Envelope: ST02 = SE02 and SE01 = segments counted.
Cross-table checks are UnexpectedRowsExpectations that return only payment/claim/line
keys (never patient control numbers, names or amounts). They recompute the balances from
the amounts instead of trusting the parser's ``is_balanced`` flags; the envelope check
reads the parser's ``is_envelope_valid`` (SE counts are not kept in the tables).
"""

from __future__ import annotations

from collections.abc import Mapping

import great_expectations as gx

from expectations._common import (
    CRITICAL,
    WARNING,
    Check,
    as_decimal,
    columns_present,
    in_set,
    new_suite,
    non_empty,
    not_null,
    parses_as,
    passes,
    unique,
)

EXTRACT = "remittances"
SUITE_NAME = "rcm_remittances"

# Logical table -> table name, resolved in the schema of the validated claims table.
# Columns follow the parser's schema (docs/era-tables.md, rcm/era/schema.py).
TABLES: dict[str, str] = {
    "payments": "remit_payments",  # one row per ST..SE transaction (BPR/TRN)
    "claims": "remit_claims",  # one row per CLP (the validated batch)
    "claim_adjustments": "remit_claim_adjustments",  # one row per claim CAS triplet
    "service_lines": "remit_service_lines",  # one row per SVC
    "line_adjustments": "remit_line_adjustments",  # one row per line CAS triplet
    "provider_adjustments": "remit_provider_adjustments",  # one row per PLB pair
}

# Logical column -> column name, shared by every table that carries it.
COLUMNS: dict[str, str] = {
    "payment_key": "payment_key",  # key of the transaction (ST..SE)
    "claim_key": "claim_key",  # key of the CLP
    "service_line_key": "service_line_key",  # key of the SVC
    "patient_control_number": "patient_control_number",  # CLP01 (PHI-adjacent, never shown)
    "claim_status_code": "claim_status_code",  # CLP02
    "total_charge_amount": "total_charge_amount",  # CLP03
    "paid_amount": "paid_amount",  # CLP04
    "patient_responsibility_amount": "patient_responsibility_amount",  # CLP05
    "line_charge_amount": "line_charge_amount",  # SVC02
    "line_paid_amount": "line_paid_amount",  # SVC03
    "adjustment_amount": "adjustment_amount",  # CAS amount / PLB amount
    "total_payment_amount": "total_payment_amount",  # BPR02
    "credit_debit_flag": "credit_debit_flag",  # BPR03 (D = debit: BPR02 negated)
    "is_envelope_valid": "is_envelope_valid",  # parser: ST/SE control number and count agree
}

# The columns of each sibling table the suite reads (balancing_queries), by logical table:
# all a caller must provide of the siblings. The loader stages only these (the wide line
# tables would cost seconds per chunk to copy whole for the few columns balancing reads).
SIBLING_COLUMNS: dict[str, tuple[str, ...]] = {
    "payments": tuple(
        COLUMNS[c]
        for c in ("payment_key", "total_payment_amount", "credit_debit_flag", "is_envelope_valid")
    ),
    "claim_adjustments": (COLUMNS["claim_key"], COLUMNS["adjustment_amount"]),
    "service_lines": tuple(
        COLUMNS[c]
        for c in ("claim_key", "service_line_key", "line_charge_amount", "line_paid_amount")
    ),
    "line_adjustments": tuple(
        COLUMNS[c] for c in ("claim_key", "service_line_key", "adjustment_amount")
    ),
    "provider_adjustments": (COLUMNS["payment_key"], COLUMNS["adjustment_amount"]),
}

CLAIM_STATUS_CODES = ["1", "2", "3", "4", "19", "20", "21", "22", "23"]

REQUIRED_COLUMNS: tuple[str, ...] = tuple(
    COLUMNS[c]
    for c in (
        "payment_key",
        "claim_key",
        "patient_control_number",
        "claim_status_code",
        "total_charge_amount",
        "paid_amount",
        "patient_responsibility_amount",
    )
)

# Money balances to the cent; half a cent absorbs float-typed intermediate tables.
TOLERANCE = 0.005


def related_tables(claims_table: str) -> dict[str, str]:
    """Sibling tables of ``claims_table`` (``schema.table``), by logical name.

    The siblings share the claims table's schema and name prefix: ``<prefix>claims`` ->
    ``<prefix><logical name>`` (``raw.remit_claims`` -> ``raw.remit_payments``; the loader's
    staged ``scratch.load_batch_era_claims`` -> ``scratch.load_batch_era_payments``; the raw
    ``raw.era_claims`` -> ``raw.era_payments``). A claims table named otherwise: the names
    in ``TABLES``, in its schema.
    """
    schema, _, name = claims_table.rpartition(".")
    schema = schema + "." if schema else ""
    if name.endswith("claims"):
        prefix = schema + name[: -len("claims")]
        return {logical: prefix + logical for logical in TABLES}
    return {logical: schema + table for logical, table in TABLES.items()}


def check_columns(column_types: Mapping[str, str]) -> list[Check]:
    c = COLUMNS
    amounts = (c["total_charge_amount"], c["paid_amount"], c["patient_responsibility_amount"])
    return [
        Check(
            "chk_amounts_parse", " and ".join(parses_as(a, as_decimal(a)) for a in amounts), amounts
        ),
        Check(
            "chk_reversal_negative",
            f"case when cast({c['claim_status_code']} as varchar) = '22' "
            f"then {as_decimal(c['total_charge_amount'])} <= 0 end",
            (c["claim_status_code"], c["total_charge_amount"]),
        ),
    ]


def _unexpected_rows(query: str, description: str, severity: str = CRITICAL):
    return gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query=query, severity=severity, description=description
    )


def balancing_queries(tables: Mapping[str, str]) -> dict[str, str]:
    """SQL returning the key of each unbalanced claim / line / payment (never PHI)."""
    c, t, tol = COLUMNS, tables, TOLERANCE
    pay, claim, line = c["payment_key"], c["claim_key"], c["service_line_key"]

    def money(column: str, alias: str = "") -> str:
        return f"try_cast({alias + '.' if alias else ''}{c[column]} as decimal(18, 2))"

    adjustments = money("adjustment_amount")
    return {
        "claim_balance": f"""
with claim_adj as (
    select {claim}, sum({adjustments}) as amount from {t["claim_adjustments"]} group by all
), line_adj as (
    select {claim}, sum({adjustments}) as amount from {t["line_adjustments"]} group by all
)
select batch.{claim}
from {{batch}} as batch
left join claim_adj using ({claim})
left join line_adj using ({claim})
where abs({money("total_charge_amount", "batch")} - {money("paid_amount", "batch")}
          - coalesce(claim_adj.amount, 0) - coalesce(line_adj.amount, 0)) > {tol}""",
        "line_balance": f"""
with line_adj as (
    select {line}, sum({adjustments}) as amount from {t["line_adjustments"]} group by all
)
select lines.{line}
from {t["service_lines"]} as lines
join (select distinct {claim} from {{batch}}) as batch using ({claim})
left join line_adj using ({line})
where abs({money("line_charge_amount", "lines")} - coalesce(line_adj.amount, 0)
          - {money("line_paid_amount", "lines")}) > {tol}""",
        "payment_balance": f"""
with paid as (
    select {pay}, sum({money("paid_amount")}) as amount from {{batch}} group by all
), plb as (
    select {pay}, sum({adjustments}) as amount from {t["provider_adjustments"]} group by all
)
select payments.{pay}
from {t["payments"]} as payments
join paid using ({pay})
left join plb using ({pay})
where abs(paid.amount - coalesce(plb.amount, 0)
          - case when payments.{c["credit_debit_flag"]} = 'D'
                 then -{money("total_payment_amount", "payments")}
                 else {money("total_payment_amount", "payments")} end) > {tol}""",
        "envelope": f"""
select payments.{pay}
from {t["payments"]} as payments
join (select distinct {pay} from {{batch}}) as batch using ({pay})
where not coalesce(payments.{c["is_envelope_valid"]}, false)""",
    }


def build_suite(related: Mapping[str, str] | None = None) -> gx.ExpectationSuite:
    """The remittances suite; ``related`` maps logical table names to tables."""
    c = COLUMNS
    tables = {**related_tables(TABLES["claims"]), **(related or {})}
    queries = balancing_queries(tables)
    return new_suite(
        SUITE_NAME,
        [
            columns_present(REQUIRED_COLUMNS, "All claim columns the suite relies on."),
            non_empty("The remittance holds at least one claim."),
            not_null(c["payment_key"], CRITICAL, "Every claim belongs to a payment (ST..SE)."),
            not_null(c["claim_key"], CRITICAL, "Every claim has a key."),
            unique(c["claim_key"], CRITICAL, "A claim appears once per batch."),
            not_null(
                c["patient_control_number"],
                CRITICAL,
                "Every claim has a patient control number (CLP01).",
            ),
            in_set(
                c["claim_status_code"],
                CLAIM_STATUS_CODES,
                CRITICAL,
                "CLP02 is a 5010 claim status code.",
            ),
            not_null(c["total_charge_amount"], CRITICAL, "Every claim has a charge (CLP03)."),
            not_null(c["paid_amount"], CRITICAL, "Every claim has a paid amount (CLP04)."),
            passes("chk_amounts_parse", CRITICAL, "Claim amounts are decimals."),
            passes("chk_reversal_negative", WARNING, "A reversal (CLP02 = 22) carries a credit."),
            _unexpected_rows(
                queries["claim_balance"], "Claim charge = claim paid + claim and line adjustments."
            ),
            _unexpected_rows(
                queries["line_balance"], "Service line charge = line paid + line adjustments."
            ),
            _unexpected_rows(
                queries["payment_balance"],
                "BPR02 = sum of claim paid - provider-level adjustments (PLB).",
            ),
            _unexpected_rows(
                queries["envelope"],
                "Envelope: ST02 = SE02 and SE01 = the segments counted (parser flag).",
            ),
        ],
    )
