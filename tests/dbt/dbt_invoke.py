"""Run any dbt command on a warehouse file from a test (the dbt_build helper, generalised).

Same environment and clean-up as tests/dbt_build.py (the warehouse from RCM_WAREHOUSE, target
and logs under a work folder, dbt-duckdb's in-process connections closed afterwards), for the
commands the dbt tests need beyond `dbt build`: `build --full-refresh`, `docs generate`, a
selected `test`. Returns dbt's result so a test can read the run results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dbt_build import DBT_DIR, close_dbt_connections


def dbt_invoke(
    args: list[str], warehouse: Path, workdir: Path, *, expect_success: bool = True
) -> Any:
    """`dbt <args>` on `warehouse` (target/ and logs/ under `workdir`); dbt's runner result.

    With `expect_success` (default) a failed command fails the test with dbt's failures.
    """
    from dbt.cli.main import dbtRunner

    mp = pytest.MonkeyPatch()
    mp.setenv("RCM_WAREHOUSE", str(warehouse))
    mp.setenv("DO_NOT_TRACK", "1")
    try:
        result = dbtRunner().invoke(
            [*args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
             "--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs"),
             "--threads", "4", "--quiet"]
        )  # fmt: skip
    finally:
        mp.undo()
        close_dbt_connections()
    if expect_success:
        failures = [
            f"{r.node.unique_id}: {r.status} {r.message or ''}"
            for r in (getattr(result.result, "results", None) or ())
            if str(r.status) not in ("success", "pass")
        ]
        assert result.success, f"dbt {' '.join(args)} failed: {result.exception or failures}"
    return result


def read_artifact(workdir: Path, name: str) -> dict:
    """A JSON artifact dbt wrote under `workdir`/target (manifest.json, catalog.json, ...)."""
    return json.loads((workdir / "target" / name).read_text())
