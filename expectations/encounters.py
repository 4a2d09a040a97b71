"""Suite for the encounters extract (one row per encounter version), per docs/contracts.md."""

from __future__ import annotations

from collections.abc import Mapping

import great_expectations as gx

from expectations._common import (
    CPT_HCPCS_GLOBS,
    CPT_HCPCS_PATTERN,
    CRITICAL,
    ICD10CM_ELEMENT_PATTERN,
    ICD10CM_GLOBS,
    SYSTEMIC_CODE_MOSTLY,
    WARNING,
    Check,
    as_date,
    as_timestamp,
    code_list_ok,
    columns_present,
    in_set,
    new_suite,
    non_empty,
    not_null,
    npi_check,
    parses_as,
    passes,
    unique,
)
from rcm.load.extracts import EXTRACTS

EXTRACT = "encounters"
SUITE_NAME = "rcm_encounters"

# the contract columns and accepted values: one spec, shared with the loader
REQUIRED_COLUMNS: tuple[str, ...] = EXTRACTS["encounters"].names

ENCOUNTER_TYPES = list(EXTRACTS["encounters"].accepted["encounter_type"])
PATIENT_SEXES = list(EXTRACTS["encounters"].accepted["patient_sex"])


def check_columns(column_types: Mapping[str, str]) -> list[Check]:
    """Derived checks added to the batch query (see expectations/__init__.py)."""
    admit, discharge, birth = (
        as_date("admit_date"),
        as_date("discharge_date"),
        as_date("patient_birth_date"),
    )
    npi_sql, npi_helpers = npi_check("attending_npi", column_types)
    return [
        Check(
            "chk_dates_parse",
            " and ".join(
                parses_as(c, as_date(c))
                for c in ("admit_date", "discharge_date", "patient_birth_date")
            ),
            ("admit_date", "discharge_date", "patient_birth_date"),
        ),
        Check(
            "chk_timestamps_parse",
            " and ".join(
                parses_as(c, as_timestamp(c))
                for c in ("note_signed_at", "coded_at", "final_billed_at", "updated_at")
            ),
            ("note_signed_at", "coded_at", "final_billed_at", "updated_at"),
        ),
        Check(
            "chk_discharge_on_or_after_admit",
            f"{discharge} >= {admit}",
            ("admit_date", "discharge_date"),
        ),
        Check("chk_birth_date_not_future", f"{birth} <= current_date", ("patient_birth_date",)),
        Check(
            "chk_birth_on_or_before_admit",
            f"{birth} <= {admit}",
            ("patient_birth_date", "admit_date"),
        ),
        Check(
            "chk_admit_date_plausible",
            f"{admit} between date '1900-01-01' and current_date + interval 1 day",
            ("admit_date",),
        ),
        Check("chk_attending_npi_valid", npi_sql, ("attending_npi",), npi_helpers),
        Check(
            "chk_dx_codes_format",
            code_list_ok(
                "documented_dx_codes", ICD10CM_ELEMENT_PATTERN, ICD10CM_GLOBS, column_types
            ),
            ("documented_dx_codes",),
        ),
        Check(
            "chk_px_codes_format",
            code_list_ok("documented_px_codes", CPT_HCPCS_PATTERN, CPT_HCPCS_GLOBS, column_types),
            ("documented_px_codes",),
        ),
    ]


def build_suite(related_tables: Mapping[str, str] | None = None) -> gx.ExpectationSuite:
    """The encounters suite; ``related_tables`` is unused (single-table extract)."""
    return new_suite(
        SUITE_NAME,
        [
            columns_present(REQUIRED_COLUMNS, "All contract columns of the encounters extract."),
            non_empty("The batch holds at least one encounter."),
            not_null("encounter_id", CRITICAL, "Every row has an encounter id (the key)."),
            unique("encounter_id", CRITICAL, "An encounter appears once per batch."),
            not_null("patient_id", CRITICAL, "Every encounter names its patient (MRN)."),
            not_null("facility_id", CRITICAL, "Every encounter has a facility."),
            not_null("admit_date", CRITICAL, "Every encounter has an admit date."),
            not_null("updated_at", CRITICAL, "Every row is versioned (newest version wins)."),
            in_set(
                "encounter_type", ENCOUNTER_TYPES, CRITICAL, "Encounter type is a contract value."
            ),
            in_set("patient_sex", PATIENT_SEXES, CRITICAL, "Patient sex is F, M or U."),
            passes("chk_dates_parse", CRITICAL, "Admit, discharge and birth dates are ISO dates."),
            passes("chk_timestamps_parse", CRITICAL, "Workflow timestamps are ISO 8601."),
            passes("chk_discharge_on_or_after_admit", CRITICAL, "Discharge is on or after admit."),
            passes("chk_birth_date_not_future", CRITICAL, "No birth date in the future."),
            passes("chk_birth_on_or_before_admit", CRITICAL, "The patient is born by admission."),
            passes("chk_admit_date_plausible", WARNING, "Admit date between 1900 and tomorrow."),
            passes(
                "chk_attending_npi_valid",
                WARNING,
                "Attending NPI is 10 digits with a valid check digit (a bad one is a "
                "documentation gap the marts report, so it only flags the batch).",
            ),
            passes(
                "chk_dx_codes_format",
                CRITICAL,
                "Documented diagnoses look like ICD-10-CM (systemic: at most half of the "
                "rows with a malformed code).",
                mostly=SYSTEMIC_CODE_MOSTLY,
            ),
            passes(
                "chk_dx_codes_format", WARNING, "Every documented diagnosis looks like ICD-10-CM."
            ),
            passes(
                "chk_px_codes_format",
                CRITICAL,
                "Documented procedures look like CPT/HCPCS (systemic: at most half of the "
                "rows with a malformed code).",
                mostly=SYSTEMIC_CODE_MOSTLY,
            ),
            passes(
                "chk_px_codes_format", WARNING, "Every documented procedure looks like CPT/HCPCS."
            ),
        ],
    )
