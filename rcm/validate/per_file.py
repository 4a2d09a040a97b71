"""Each file's results from one GX validation of a chunk of files (the loader's CSV chunks).

GX validates the chunk's rows once; its stored result and Data Docs page are the chunk's.
Each file's results are then computed from one SQL aggregate over the same batch query,
grouped by the file's load id, with GX's own rules for the five expectation types of the
encounters and charges suites:

- ``expect_column_values_to_be_in_set``: unexpected = non-null values outside the set,
  percent of the non-null values, ``mostly`` over the non-null values (none: success);
- ``expect_column_values_to_not_be_null``: unexpected = nulls, percent of all rows;
- ``expect_column_proportion_of_unique_values_to_be_between``: distinct / non-null values
  (0 when there are none), the minimum 1.0, or 0.0 for a file with no rows (as the runner
  sets it per batch);
- ``expect_table_row_count_to_be_between``: the file's rows;
- ``expect_table_columns_to_match_set``: the chunk's result (every file of a chunk has the
  same columns).

The same aggregate over the whole chunk must reproduce GX's result for the chunk
(element and unexpected counts, observed proportion and row count); if it does not, or
the suite has another expectation type, there is no split and the caller validates each
file on its own. So a file's rows are what GX would have reported for that file alone
(tests/validate/test_per_file.py compares them with one GX run per file).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from rcm.validate.results import ValidationOutcome, _summary, result_row

log = logging.getLogger(__name__)

IN_SET = "expect_column_values_to_be_in_set"
NOT_NULL = "expect_column_values_to_not_be_null"
UNIQUE = "expect_column_proportion_of_unique_values_to_be_between"
ROW_COUNT = "expect_table_row_count_to_be_between"
COLUMNS = "expect_table_columns_to_match_set"
SUPPORTED = (IN_SET, NOT_NULL, UNIQUE, ROW_COUNT, COLUMNS)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class Parameters:
    """The suite's own expectation arguments by expectation id (with ``$PARAMETER``
    references), and the parameter values the runner sets for a batch of n rows."""

    suite_kwargs: Mapping[str, Mapping[str, Any]]
    values: Callable[[int], Mapping[str, Any]]


def _aggregates(evrs: list[Any]) -> list[str] | None:
    """Per expectation, the SQL aggregates its per-file result needs (None: unsupported)."""
    parts = []
    for i, evr in enumerate(evrs):
        config = evr.expectation_config
        kind, kwargs = config.type, config.kwargs or {}
        if kind not in SUPPORTED or kwargs.get("row_condition"):
            return None
        column = _q(kwargs["column"]) if "column" in kwargs else None
        if kind == IN_SET:
            values = ", ".join(_literal(v) for v in kwargs["value_set"])
            parts += [
                f"count({column}) as n{i}",
                f"count(*) filter (where {column} is not null and {column} not in ({values}))"
                f" as u{i}",
            ]
        elif kind == NOT_NULL:
            parts.append(f"count(*) filter (where {column} is null) as u{i}")
        elif kind == UNIQUE:
            parts += [f"count(distinct {column}) as d{i}", f"count({column}) as n{i}"]
    return parts


def _evaluate(
    evr: Any, i: int, rows: int, agg: dict[str, int], parameters: Parameters
) -> dict[str, Any] | None:
    """Success and the GX-shaped result of one expectation over `rows` rows and `agg`
    (None: the chunk's result stands for every file)."""
    config = evr.expectation_config
    kind, kwargs = config.type, dict(config.kwargs or {})
    # the suite's own arguments: a parameter takes this batch's value (the GX result
    # holds the chunk's)
    for name, value in parameters.suite_kwargs.get(config.id, {}).items():
        if isinstance(value, dict) and "$PARAMETER" in value:
            kwargs[name] = parameters.values(rows)[value["$PARAMETER"]]
    if kind in (IN_SET, NOT_NULL):
        unexpected = agg[f"u{i}"]
        # in-set counts the non-null values; not-null every row
        considered = agg[f"n{i}"] if kind == IN_SET else rows
        success, percent = _mostly(considered, unexpected, kwargs.get("mostly"))
        result = {"element_count": rows, "unexpected_count": unexpected}
        result["unexpected_percent"] = percent
    elif kind == UNIQUE:
        distinct, nonnull = agg[f"d{i}"], agg[f"n{i}"]
        observed = distinct / nonnull if nonnull else 0.0
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        success = (low is None or observed >= low) and (high is None or observed <= high)
        result = {"observed_value": observed}
    elif kind == ROW_COUNT:
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        success = (low is None or rows >= low) and (high is None or rows <= high)
        result = {"observed_value": rows}
    else:  # COLUMNS: the chunk's
        return None
    if kind in (IN_SET, NOT_NULL) and not rows:  # GX counts nothing in an empty batch
        result.update(unexpected_count=None, unexpected_percent=None)
    return {"success": success, **result}


def _mostly(considered: int, unexpected: int, mostly: float | None) -> tuple[bool, float | None]:
    """GX's success and unexpected percent of a column map expectation (nothing to
    consider: success)."""
    if not considered:
        return True, None
    percent = 100.0 * unexpected / considered
    if mostly is None:
        return unexpected == 0, percent
    return (considered - unexpected) / considered >= mostly, percent


def _agrees(evr: Any, mine: dict[str, Any] | None) -> bool:
    """Does the SQL aggregate over the chunk give what GX reported for it?"""
    if mine is None:  # the columns of the batch: taken from GX as they are
        return True
    if bool(evr.success) != mine["success"]:
        return False
    theirs = evr.result or {}
    for name in ("element_count", "unexpected_count"):
        if name in mine and theirs.get(name) != mine[name]:
            return False
    if "observed_value" in mine:
        observed = theirs.get("observed_value")
        if observed is None or not math.isclose(observed, mine["observed_value"], rel_tol=1e-9):
            return observed is None and mine["observed_value"] == 0
    return True


def split_by_file(
    con: duckdb.DuckDBPyConnection,
    query: str,
    evrs: list[Any],
    load_ids: list[str],
    *,
    chunk_id: str,
    extract: str,
    table: str,
    suite_name: str,
    run_at: datetime,
    parameters: Parameters,
    column: str = "_load_id",
) -> dict[str, ValidationOutcome] | None:
    """Each load id's outcome from the chunk's GX results `evrs` over the batch `query`
    (rows tagged with `column`); None when the split cannot reproduce GX's chunk result."""
    parts = _aggregates(evrs)
    if parts is None:
        return None
    select = ", ".join(["count(*) as _rows", *parts])
    sql = (
        f"select {_q(column)} as _file, grouping({_q(column)}) as _total, {select} "
        f"from ({query}) as chunk group by grouping sets (({_q(column)}), ())"
    )
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    total = next(row for row in found if row["_total"])
    for i, evr in enumerate(evrs):
        if not _agrees(evr, _evaluate(evr, i, total["_rows"], total, parameters)):
            log.warning(
                "per-file split of %s disagrees with GX on %s; validating file by file",
                chunk_id,
                evr.expectation_config.type,
            )
            return None
    per_file = {row["_file"]: row for row in found if not row["_total"]}
    empty = {name: 0 for name in names if name not in ("_file", "_total")}
    outcomes = {}
    for load_id in load_ids:
        agg = per_file.get(load_id, empty)
        rows = []
        for i, evr in enumerate(evrs):
            row = result_row(
                evr, load_id=load_id, extract=extract, table=table, suite_name=suite_name,
                run_at=run_at,
            )  # fmt: skip
            mine = _evaluate(evr, i, agg["_rows"], agg, parameters)
            if mine is not None:
                success = mine.pop("success")
                row.update(
                    success=success,
                    element_count=mine.get("element_count"),
                    unexpected_count=mine.get("unexpected_count"),
                    unexpected_percent=mine.get("unexpected_percent"),
                    observed_value=_summary(evr.expectation_config.type, mine, success),
                )
            row["validated_with"] = chunk_id
            rows.append(row)
        failed = [row for row in rows if not row["success"]]
        outcomes[load_id] = ValidationOutcome(
            load_id=load_id,
            extract=extract,
            table=table,
            suite_name=suite_name,
            success=not failed,
            has_critical_failure=any(row["severity"] == "critical" for row in failed),
            has_warning_failure=any(row["severity"] != "critical" for row in failed),
            results=rows,
            row_count=agg["_rows"],
            run_at=run_at,
        )
    return outcomes
