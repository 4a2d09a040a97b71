"""One GX run for a chunk of files, split per file, equals one GX run per file.

The loader validates its CSV chunks with `validate_batch(..., split_by=load_ids)`; each
file's results are computed from the chunk's run (rcm.validate.per_file). Here every
file's split results are compared, field by field, with GX run on that file's rows alone
(`batch_filter`), on chunks whose files fail differently: critical and warning failures
in some files only, a `mostly` check one file breaks while the chunk as a whole keeps it,
a key repeated inside one file, keys repeated across files (encounter versions), and a
file with no rows.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import duckdb
import pytest

from rcm.validate import per_file
from rcm.validate.runner import validate_batch

CHUNK = "ops.chunk_batch"
COMPARED = (
    "expectation_type",
    "column_name",
    "severity",
    "success",
    "element_count",
    "unexpected_count",
    "observed_value",
    "raised_exception",
    "description",
)


def _chunk(con: duckdb.DuckDBPyConnection, source: str, files: dict[str, str]) -> None:
    """`files`: load id -> SQL over `source` (its rows, as the file would bring them)."""
    con.execute("create schema if not exists ops")
    selects = [f"select *, '{load_id}' as _load_id from ({sql})" for load_id, sql in files.items()]
    con.execute(f"create or replace table {CHUNK} as {' union all by name '.join(selects)}")


def _compare(con, extract: str, load_ids: list[str], gx_root: Path) -> dict:
    chunk = validate_batch(
        con, CHUNK, extract, "run1:chunk", gx_root=gx_root, update_data_docs=False,
        run_id="run1", split_by=load_ids,
    )  # fmt: skip
    assert chunk.by_file is not None
    assert sorted(chunk.by_file) == sorted(load_ids)
    for load_id in load_ids:
        alone = validate_batch(
            con, CHUNK, extract, f"run1:{load_id}", gx_root=gx_root, update_data_docs=False,
            run_id="run1", batch_filter=f"_load_id = '{load_id}'",
        )  # fmt: skip
        split = chunk.by_file[load_id]
        assert (split.success, split.has_critical_failure, split.has_warning_failure) == (
            alone.success,
            alone.has_critical_failure,
            alone.has_warning_failure,
        ), load_id
        assert split.row_count == alone.row_count
        assert len(split.results) == len(alone.results)
        for mine, theirs in zip(split.results, alone.results, strict=True):
            assert {k: mine[k] for k in COMPARED} == {k: theirs[k] for k in COMPARED}, load_id
            if theirs["unexpected_percent"] is None:
                assert mine["unexpected_percent"] is None
            else:
                assert math.isclose(mine["unexpected_percent"], theirs["unexpected_percent"])
            assert (mine["load_id"], mine["validated_with"]) == (load_id, "run1:chunk")
    return chunk.by_file


def test_charges_chunk_split_equals_a_run_per_file(warehouse, gx_root: Path) -> None:
    con = warehouse
    _chunk(
        con,
        "raw.charges",
        {
            "good": "from raw.charges",
            # critical: revenue codes of 2 digits; warning: negative cost
            "broken": "select * replace (charge_id || 'B' as charge_id, "
            "case when charge_id <= 'CH00003' then '30' else revenue_code end as revenue_code, "
            "case when charge_id between 'CH00010' and 'CH00011' then '-5.00' "
            "else cost_amount end as cost_amount) from raw.charges",
            # 10 of 18 HCPCS codes malformed: the systemic check (at most half) fails for
            # this file, while the chunk as a whole (10 of 72) keeps it
            "systemic": "select * replace (charge_id || 'S' as charge_id, "
            "case when charge_id <= 'CH00013' then 'ZZZZZZ' else hcpcs_code end "
            "as hcpcs_code) from raw.charges",
            # a charge id twice in the file; claim ids missing (warning)
            "repeated": "select * replace (case when charge_id = 'CH00005' then 'CH00004R' "
            "else charge_id || 'R' end as charge_id, null as claim_id) from raw.charges",
            "empty": "from raw.charges limit 0",
        },
    )
    by_file = _compare(con, "charges", ["good", "broken", "systemic", "repeated", "empty"],
                       gx_root)  # fmt: skip
    assert by_file["good"].action == "load"
    assert by_file["broken"].action == "quarantine"
    assert by_file["systemic"].action == "quarantine"
    assert by_file["repeated"].action == "quarantine"  # the key is not unique in the file
    assert by_file["empty"].action == "flag"  # no rows: the row-count warning


def test_encounter_versions_across_files_are_unique_per_file(warehouse, gx_root: Path) -> None:
    """The same encounter ids in two files (later versions): the chunk's rows are not
    unique by encounter_id, each file's are, so each file passes."""
    con = warehouse
    _chunk(
        con,
        "raw.encounters",
        {
            "day1": "from raw.encounters",
            "day2": "select * replace (updated_at || '' as updated_at) from raw.encounters",
        },
    )
    by_file = _compare(con, "encounters", ["day1", "day2"], gx_root)
    assert all(outcome.action == "load" for outcome in by_file.values())


def test_no_split_when_the_sql_disagrees_with_gx(warehouse, gx_root, monkeypatch, caplog):
    con = warehouse
    _chunk(con, "raw.charges", {"a": "from raw.charges", "b": "from raw.charges limit 3"})
    real = per_file._evaluate

    def off_by_one(evr, i, rows, agg, parameters):
        found = real(evr, i, rows, agg, parameters)
        if found is not None and "unexpected_count" in found:
            found["unexpected_count"] += 1
        return found

    monkeypatch.setattr(per_file, "_evaluate", off_by_one)
    with caplog.at_level(logging.WARNING, logger="rcm.validate.per_file"):
        outcome = validate_batch(
            con, CHUNK, "charges", "run1:chunk", gx_root=gx_root, update_data_docs=False,
            run_id="run1", split_by=["a", "b"],
        )  # fmt: skip
    assert outcome.by_file is None
    assert "disagrees with GX" in caplog.text


def test_no_split_for_a_suite_with_other_expectations(warehouse, gx_root: Path) -> None:
    """The remittances suite checks rows across tables (unexpected_rows_expectation)."""
    outcome = validate_batch(
        warehouse, "raw.remit_claims", "remittances", "run1:era", gx_root=gx_root,
        update_data_docs=False, run_id="run1", split_by=["x"],
    )  # fmt: skip
    assert outcome.by_file is None
    assert not outcome.has_critical_failure


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(pytest.main([__file__, "-q"]))
