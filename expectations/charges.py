"""Suite for the charges extract (one row per charge line), per docs/contracts.md."""

from __future__ import annotations

from collections.abc import Mapping

import great_expectations as gx

from expectations._common import (
    CPT_HCPCS_GLOBS,
    CRITICAL,
    ICD10CM_ELEMENT_PATTERN,
    ICD10CM_GLOBS,
    MODIFIER_GLOBS,
    MODIFIER_PATTERN,
    REVENUE_CODE_GLOBS,
    SYSTEMIC_CODE_MOSTLY,
    WARNING,
    Check,
    as_date,
    as_decimal,
    code_list_ok,
    code_ok,
    columns_present,
    glob_any,
    in_set,
    list_length_at_most,
    new_suite,
    non_empty,
    not_null,
    npi_check,
    parses_as,
    passes,
    q,
    text,
    unique,
)
from rcm.load.extracts import EXTRACTS

EXTRACT = "charges"
SUITE_NAME = "rcm_charges"

# the contract columns and accepted values: one spec, shared with the loader
REQUIRED_COLUMNS: tuple[str, ...] = EXTRACTS["charges"].names

COST_CATEGORIES = list(EXTRACTS["charges"].accepted["cost_category"])

# Plausible range of one charge line in US dollars (negative = credit / reversal).
CHARGE_AMOUNT_MIN = -1_000_000
CHARGE_AMOUNT_MAX = 10_000_000


def check_columns(column_types: Mapping[str, str]) -> list[Check]:
    """Derived checks added to the batch query (see expectations/__init__.py)."""
    amount, units = as_decimal("charge_amount"), f"try_cast({q('units')} as bigint)"
    npi_sql, npi_helpers = npi_check("rendering_npi", column_types)
    return [
        Check(
            "chk_dates_parse",
            " and ".join(parses_as(c, as_date(c)) for c in ("service_date", "posted_date")),
            ("service_date", "posted_date"),
        ),
        Check(
            "chk_posted_on_or_after_service",
            f"{as_date('posted_date')} >= {as_date('service_date')}",
            ("service_date", "posted_date"),
        ),
        Check(
            "chk_amounts_parse",
            " and ".join(parses_as(c, as_decimal(c)) for c in ("charge_amount", "cost_amount"))
            + f" and {parses_as('units', units)}",
            ("charge_amount", "cost_amount", "units"),
        ),
        Check(
            "chk_charge_amount_in_range",
            f"{amount} between {CHARGE_AMOUNT_MIN} and {CHARGE_AMOUNT_MAX}",
            ("charge_amount",),
        ),
        Check(
            "chk_units_positive_for_positive_charge",
            f"case when {amount} > 0 then coalesce({units} > 0, false) end",
            ("charge_amount", "units"),
        ),
        Check(
            "chk_cost_amount_not_negative", f"{as_decimal('cost_amount')} >= 0", ("cost_amount",)
        ),
        Check(
            "chk_revenue_code_format",
            glob_any(text("revenue_code", column_types), REVENUE_CODE_GLOBS),
            ("revenue_code",),
        ),
        Check(
            "chk_hcpcs_code_format",
            code_ok("hcpcs_code", CPT_HCPCS_GLOBS, column_types),
            ("hcpcs_code",),
        ),
        Check(
            "chk_dx_codes_format",
            code_list_ok("billed_dx_codes", ICD10CM_ELEMENT_PATTERN, ICD10CM_GLOBS, column_types),
            ("billed_dx_codes",),
        ),
        Check(
            "chk_modifiers_format",
            code_list_ok("modifiers", MODIFIER_PATTERN, MODIFIER_GLOBS, column_types)
            + " and "
            + list_length_at_most("modifiers", 4, column_types),
            ("modifiers",),
        ),
        Check("chk_rendering_npi_valid", npi_sql, ("rendering_npi",), npi_helpers),
    ]


def build_suite(related_tables: Mapping[str, str] | None = None) -> gx.ExpectationSuite:
    """The charges suite; ``related_tables`` is unused (single-table extract)."""
    return new_suite(
        SUITE_NAME,
        [
            columns_present(REQUIRED_COLUMNS, "All contract columns of the charges extract."),
            non_empty("The batch holds at least one charge line."),
            not_null("charge_id", CRITICAL, "Every line has a charge id (the key)."),
            unique("charge_id", CRITICAL, "A charge line appears once per batch."),
            not_null("encounter_id", CRITICAL, "Every line belongs to an encounter."),
            not_null("claim_id", WARNING, "Every line carries its claim (patient control number)."),
            not_null("facility_id", CRITICAL, "Every line has a facility."),
            not_null("service_date", CRITICAL, "Every line has a service date."),
            not_null("charge_amount", CRITICAL, "Every line has an amount."),
            in_set(
                "cost_category", COST_CATEGORIES, CRITICAL, "Cost category is a contract value."
            ),
            passes("chk_dates_parse", CRITICAL, "Service and posted dates are ISO dates."),
            passes("chk_amounts_parse", CRITICAL, "Amounts are decimals and units integers."),
            passes(
                "chk_charge_amount_in_range",
                CRITICAL,
                f"Charge amount within [{CHARGE_AMOUNT_MIN}, {CHARGE_AMOUNT_MAX}] dollars.",
            ),
            passes(
                "chk_units_positive_for_positive_charge",
                CRITICAL,
                "A positive charge has positive units.",
            ),
            passes("chk_revenue_code_format", CRITICAL, "Revenue code is 4 digits (UB-04)."),
            passes(
                "chk_posted_on_or_after_service", WARNING, "A charge is posted on or after service."
            ),
            passes("chk_cost_amount_not_negative", WARNING, "Direct cost is not negative."),
            passes(
                "chk_hcpcs_code_format",
                CRITICAL,
                "HCPCS codes look like CPT/HCPCS (systemic: at most half malformed).",
                mostly=SYSTEMIC_CODE_MOSTLY,
            ),
            passes("chk_hcpcs_code_format", WARNING, "Every HCPCS code looks like CPT/HCPCS."),
            passes(
                "chk_dx_codes_format",
                CRITICAL,
                "Billed diagnoses look like ICD-10-CM (systemic: at most half of the rows with a "
                "malformed code).",
                mostly=SYSTEMIC_CODE_MOSTLY,
            ),
            passes("chk_dx_codes_format", WARNING, "Every billed diagnosis looks like ICD-10-CM."),
            passes("chk_modifiers_format", WARNING, "At most 4 modifiers of 2 characters each."),
            passes(
                "chk_rendering_npi_valid",
                WARNING,
                "Rendering NPI, when present, is 10 digits with a valid check digit.",
            ),
        ],
    )
