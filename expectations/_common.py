"""Building blocks shared by the suites: code patterns, SQL for derived checks, severities."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import great_expectations as gx

CRITICAL = "critical"  # the batch is quarantined
WARNING = "warning"  # the batch loads, flagged

# Codes are compared upper-case without dots (docs/domain.md), so the patterns are too.
# ICD-10-CM: a letter, a letter or digit, up to 5 more. U is allowed (U07.1 COVID-19), and so
# is a letter in the second place: the April 2026 release has QA0 codes (QA00142,
# DLG4-related synaptopathy).
ICD10CM_PATTERN = r"^[A-Z][0-9A-Z][0-9A-Z]{0,5}$"
# As applied to list elements: the dotted form (E11.9) is tolerated.
ICD10CM_ELEMENT_PATTERN = r"^[A-Z][0-9A-Z]([0-9A-Z]{0,5}|[0-9A-Z]\.[0-9A-Z]{1,4})$"
CPT_HCPCS_PATTERN = r"^([0-9]{5}|[A-Z][0-9]{4}|[0-9]{4}[A-Z])$"
REVENUE_CODE_PATTERN = r"^[0-9]{4}$"
MODIFIER_PATTERN = r"^[0-9A-Z]{2}$"
MODIFIER_GLOBS = ["[0-9A-Z][0-9A-Z]"]

# Share of rows whose code lists may be malformed before the batch counts as structurally
# broken (a swapped or garbled column). Single bad codes are the coding-accuracy mart's job.
# Half: a small daily file with one odd code must not be quarantined whole (measured on the
# generated sample: 1 of 5 rows is 20 %), a garbled column fails on nearly every row.
SYSTEMIC_CODE_MOSTLY = 0.5


@dataclass(frozen=True)
class Check:
    """A derived boolean column added to the batch query: TRUE passes, NULL not applicable.

    ``helpers`` are (name, sql) columns computed once per row in an inner select, so that
    ``sql`` can reuse them (e.g. an NPI parsed to an integer once, not once per digit).
    ``{source}`` in ``sql`` stands for the batch rows (for set-based checks).
    """

    name: str
    sql: str
    inputs: tuple[str, ...]
    helpers: tuple[tuple[str, str], ...] = ()


def q(column: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + column.replace('"', '""') + '"'


def as_date(column: str) -> str:
    return f"try_cast({q(column)} as date)"


def as_timestamp(column: str) -> str:
    return f"try_cast({q(column)} as timestamp)"


def as_decimal(column: str) -> str:
    return f"try_cast({q(column)} as decimal(18, 2))"


def parses_as(column: str, cast_sql: str) -> str:
    """TRUE when the value is null or converts; FALSE when present but unparseable."""
    return f"({q(column)} is null or {cast_sql} is not null)"


def is_list_type(column_type: str | None) -> bool:
    return bool(column_type) and column_type.endswith("[]")


def text(column: str, column_types: Mapping[str, str]) -> str:
    """The column as VARCHAR (no cast when it already is one)."""
    if column_types.get(column, "VARCHAR") == "VARCHAR":
        return q(column)
    return f"cast({q(column)} as varchar)"


def glob_any(expression: str, patterns: list[str]) -> str:
    """GLOB is ~20x cheaper than regexp_full_match in DuckDB (docs/validation.md)."""
    return "(" + " or ".join(f"{expression} glob '{p}'" for p in patterns) + ")"


# The regex patterns above, spelled as GLOB alternatives.
ICD10CM_GLOBS = ["[A-Z][0-9A-Z]" + "[0-9A-Z]" * extra for extra in range(6)] + [
    "[A-Z][0-9A-Z][0-9A-Z]." + "[0-9A-Z]" * extra for extra in range(1, 5)
]  # the dotted form (E11.9) is tolerated: codes are compared without dots
CPT_HCPCS_GLOBS = [
    "[0-9][0-9][0-9][0-9][0-9]",
    "[A-Z][0-9][0-9][0-9][0-9]",
    "[0-9][0-9][0-9][0-9][A-Z]",
]
REVENUE_CODE_GLOBS = ["[0-9][0-9][0-9][0-9]"]
NPI_GLOBS = ["[0-9]" * 10]


def _normalized(expression: str) -> str:
    """Codes are compared upper-case without dots (docs/domain.md)."""
    return f"replace(upper({expression}), '.', '')"


def code_ok(column: str, globs: list[str], column_types: Mapping[str, str]) -> str:
    """TRUE when a scalar code matches (upper-cased, dots removed); NULL when null."""
    return glob_any(_normalized(text(column, column_types)), globs)


def code_list_ok(
    column: str, pattern: str, globs: list[str], column_types: Mapping[str, str]
) -> str:
    """TRUE when every element of a code list (a LIST, or text separated by ';') matches
    exactly (upper-case, no dots, no blanks -- the form docs/domain.md compares).

    Text: one regular expression over the whole field (one call per row, not per element);
    LIST: GLOB per element. These are the costliest checks of a suite (docs/validation.md).
    """
    if is_list_type(column_types.get(column)):
        return f"list_bool_and(list_transform({q(column)}, lambda x: {glob_any('x', globs)}))"
    body = pattern.removeprefix("^").removesuffix("$")
    return f"regexp_full_match({text(column, column_types)}, '{body}(;{body})*')"


def list_length_at_most(column: str, limit: int, column_types: Mapping[str, str]) -> str:
    if is_list_type(column_types.get(column)):
        return f"len({q(column)}) <= {limit}"
    field = text(column, column_types)
    return f"length({field}) - length(replace({field}, ';', '')) < {limit}"


def npi_check(column: str, column_types: Mapping[str, str]) -> tuple[str, tuple[tuple[str, str]]]:
    """SQL and helper column: TRUE for a 10-digit NPI with a valid Luhn check digit.

    Mirrors :func:`rcm.npi.is_valid_npi` (CMS: Luhn over the prefix 80840): 24 stands for
    the prefix; digits 1, 3, 5, 7, 9 of the base are doubled (a doubled digit over 9 loses
    9). The NPI is parsed to an integer once (helper column) and the digits taken with
    integer arithmetic, which DuckDB vectorises; string slicing per digit is 10x slower.
    """
    helper = f"_rcm_{column}_number"
    parsed = (
        f"case when {glob_any(text(column, column_types), NPI_GLOBS)} "
        f"then cast({text(column, column_types)} as bigint) end"
    )

    def digit(position: int) -> str:
        return f"({helper} // {10 ** (10 - position)} % 10)"

    def doubled(position: int) -> str:
        return f"(2 * {digit(position)} - 9 * ({digit(position)} // 5))"

    total = " + ".join(["24"] + [doubled(p) if p % 2 else digit(p) for p in range(1, 10)])
    sql = (
        f"case when {q(column)} is null then null when {helper} is null then false "
        f"else (10 - ({total}) % 10) % 10 = {digit(10)} end"
    )
    return sql, ((helper, parsed),)


def passes(check: str, severity: str, description: str, mostly: float | None = None):
    """Expect a derived check column to be TRUE wherever it applies."""
    kwargs = {"mostly": mostly} if mostly is not None else {}
    return gx.expectations.ExpectColumnValuesToBeInSet(
        column=check, value_set=[True], severity=severity, description=description, **kwargs
    )


def not_null(column: str, severity: str, description: str):
    return gx.expectations.ExpectColumnValuesToNotBeNull(
        column=column, severity=severity, description=description
    )


# Suite parameter the runner sets: 1.0, or 0.0 for an empty batch (GX reports the unique
# proportion of no values as 0; an empty batch is the row-count warning's business).
MIN_UNIQUE_PROPORTION = "min_unique_proportion"


def unique(column: str, severity: str, description: str):
    """Key uniqueness as distinct / non-null count = 1.

    ``count(distinct key)`` is one plain aggregate query; ExpectColumnValuesToBeUnique
    runs a self-join per key (about twice the cost on 15M rows), and a sort-based check
    column would put a join in the batch query that every GX query then re-runs
    (docs/validation.md).
    """
    return gx.expectations.ExpectColumnProportionOfUniqueValuesToBeBetween(
        column=column,
        min_value={"$PARAMETER": MIN_UNIQUE_PROPORTION},
        max_value=1.0,
        severity=severity,
        description=description,
    )


def in_set(column: str, values: list[str], severity: str, description: str):
    return gx.expectations.ExpectColumnValuesToBeInSet(
        column=column, value_set=values, severity=severity, description=description
    )


def columns_present(columns: tuple[str, ...], description: str):
    return gx.expectations.ExpectTableColumnsToMatchSet(
        column_set=list(columns), exact_match=False, severity=CRITICAL, description=description
    )


def non_empty(description: str):
    return gx.expectations.ExpectTableRowCountToBeBetween(
        min_value=1, severity=WARNING, description=description
    )


def new_suite(name: str, expectations: list) -> gx.ExpectationSuite:
    # Built in one go: add_expectation() on a suite already in a context's store would
    # persist the whole suite once per expectation.
    return gx.ExpectationSuite(name=name, expectations=expectations)
