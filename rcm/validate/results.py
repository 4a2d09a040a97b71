"""Turn GX validation results into PHI-free rows and store them in ops.validation_results."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

RESULTS_TABLE = "ops.validation_results"
_EXCEPTION_LINE = re.compile(r"^([\w.]*(?:Error|Exception)):", re.MULTILINE)

# One row per expectation per validated load. Counts and percentages only: never values.
RESULTS_DDL = f"""
create table if not exists {RESULTS_TABLE} (
    load_id varchar not null,
    extract varchar not null,
    table_name varchar not null,
    suite_name varchar not null,
    expectation_id varchar,
    expectation_type varchar not null,
    column_name varchar,
    severity varchar not null,
    success boolean not null,
    element_count bigint,
    unexpected_count bigint,
    unexpected_percent double,
    observed_value varchar,
    raised_exception boolean not null,
    exception_type varchar,
    description varchar,
    run_at timestamp not null,
    validated_with varchar
)
"""

RESULT_COLUMNS = (
    "load_id",
    "extract",
    "table_name",
    "suite_name",
    "expectation_id",
    "expectation_type",
    "column_name",
    "severity",
    "success",
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "observed_value",
    "raised_exception",
    "exception_type",
    "description",
    "run_at",
    "validated_with",
)


@dataclass(frozen=True)
class ValidationOutcome:
    """The result of validating one load against its extract's suite."""

    load_id: str
    extract: str
    table: str
    suite_name: str
    success: bool
    has_critical_failure: bool
    has_warning_failure: bool
    results: list[dict[str, Any]] = field(default_factory=list)
    row_count: int | None = None
    data_docs_index: str | None = None
    run_at: datetime | None = None
    elapsed_seconds: float = 0.0
    #: a chunk of files validated together: each file's outcome (rcm.validate.per_file)
    by_file: dict[str, ValidationOutcome] | None = None

    @property
    def action(self) -> str:
        """``quarantine`` (a critical expectation failed), ``flag`` (a warning) or ``load``."""
        if self.has_critical_failure:
            return "quarantine"
        return "flag" if self.has_warning_failure else "load"

    def failed(self) -> list[dict[str, Any]]:
        return [row for row in self.results if not row["success"]]


def _summary(expectation_type: str, result: dict[str, Any], success: bool) -> str:
    """Counts and percentages only -- never the observed values themselves."""
    if "unexpected_count" in result and result.get("unexpected_count") is not None:
        count, total = result["unexpected_count"], result.get("element_count")
        pct = result.get("unexpected_percent")
        text = f"{count} unexpected"
        if total is not None:
            text += f" of {total} rows"
        if pct is not None:
            text += f" ({pct:.4g}%)"
        return text
    observed = result.get("observed_value")
    if expectation_type == "unexpected_rows_expectation":
        return f"{observed} unexpected rows"
    if expectation_type == "expect_table_columns_to_match_set":
        mismatched = (result.get("details") or {}).get("mismatched") or {}
        missing = len(mismatched.get("missing") or [])
        return f"{missing} required columns missing" if missing or not success else "all present"
    if expectation_type == "expect_column_proportion_of_unique_values_to_be_between":
        return f"unique proportion {observed:.9g}" if observed is not None else "no values"
    if expectation_type == "expect_table_row_count_to_be_between":
        return f"{observed} rows"
    return "passed" if success else "failed"


def result_row(
    evr: Any, *, load_id: str, extract: str, table: str, suite_name: str, run_at: datetime
) -> dict[str, Any]:
    """One PHI-free results row from a GX ExpectationValidationResult."""
    config = evr.expectation_config
    kwargs = config.kwargs or {}
    result = evr.result or {}
    info = evr.exception_info or {}
    raised = bool(info.get("raised_exception")) or any(
        isinstance(v, dict) and v.get("raised_exception") for v in info.values()
    )
    exception_type = None
    if raised:
        # The exception class only: DuckDB messages can quote the offending value.
        tracebacks = [info.get("exception_traceback")] + [
            v.get("exception_traceback") for v in info.values() if isinstance(v, dict)
        ]
        text = next((t for t in tracebacks if t), "") or ""
        names = [m.group(1) for m in _EXCEPTION_LINE.finditer(text)]
        exception_type = names[-1].rsplit(".", 1)[-1] if names else "Exception"
    column = kwargs.get("column")
    if column is None and kwargs.get("column_list"):
        column = ",".join(kwargs["column_list"])
    unexpected = result.get("unexpected_count")
    if unexpected is None and config.type == "unexpected_rows_expectation":
        unexpected = result.get("observed_value")
    severity = getattr(config, "severity", None) or "critical"
    return {
        "load_id": load_id,
        "extract": extract,
        "table_name": table,
        "suite_name": suite_name,
        "expectation_id": config.id,
        "expectation_type": config.type,
        "column_name": column,
        "severity": str(getattr(severity, "value", severity)),
        "success": bool(evr.success),
        "element_count": result.get("element_count"),
        "unexpected_count": unexpected if isinstance(unexpected, int) else None,
        "unexpected_percent": result.get("unexpected_percent"),
        "observed_value": "error" if raised else _summary(config.type, result, evr.success),
        "raised_exception": raised,
        "exception_type": exception_type,
        "description": config.description,
        "run_at": run_at,
        "validated_with": None,  # the chunk's id on a file's rows from a chunk's validation
    }


def record_results(con: duckdb.DuckDBPyConnection, outcome: ValidationOutcome) -> int:
    """Append the outcome's rows to ops.validation_results (created if missing)."""
    return record_many(con, [outcome])


# each results column as the frame holds it, and the Python type its values are given first
# (a frame is built strictly: an int in the percent column, or a numpy number, would fail)
_FRAME_TYPES: dict[str, tuple[Any, Any]] = {name: (pl.String, str) for name in RESULT_COLUMNS} | {
    "success": (pl.Boolean, bool),
    "raised_exception": (pl.Boolean, bool),
    "element_count": (pl.Int64, int),
    "unexpected_count": (pl.Int64, int),
    "unexpected_percent": (pl.Float64, float),
    "run_at": (pl.Datetime("us"), lambda value: value),
}
_FRAME = "_validation_results_frame"


def record_many(con: duckdb.DuckDBPyConnection, outcomes: Iterable[ValidationOutcome]) -> int:
    """Append the rows of every outcome to ops.validation_results in one insert.

    One insert of a frame rather than a statement per row: DuckDB's `executemany` runs the
    insert once per row, 40-80 ms for one file's 23 rows on this machine, so recording
    file by file took 10-14 s of a night's load at 1M encounters (178 CSV files); a
    chunk's files as one frame take a few milliseconds (docs/benchmarks.md, item 25).
    """
    con.execute("create schema if not exists ops")
    con.execute(RESULTS_DDL)
    # warehouses from before the column (835 files validated together, see docs/validation.md)
    con.execute(f"alter table {RESULTS_TABLE} add column if not exists validated_with varchar")
    rows = [row for outcome in outcomes for row in outcome.results]
    if not rows:
        return 0
    frame = pl.DataFrame(
        {
            name: [None if row[name] is None else convert(row[name]) for row in rows]
            for name, (_, convert) in _FRAME_TYPES.items()
        },
        schema={name: dtype for name, (dtype, _) in _FRAME_TYPES.items()},
    )
    columns = ", ".join(RESULT_COLUMNS)
    con.register(_FRAME, frame)
    try:
        con.execute(f"insert into {RESULTS_TABLE} ({columns}) select {columns} from {_FRAME}")
    finally:
        con.unregister(_FRAME)
    return len(rows)
