"""Run `dbt build` on a warehouse file from a test, with dbt's in-process state cleaned up."""

from __future__ import annotations

from pathlib import Path

import pytest

DBT_DIR = Path(__file__).resolve().parents[1] / "dbt"


def close_dbt_connections() -> None:
    """dbt-duckdb keeps its database open in-process; close it so the test can read the file."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.adapters.factory import reset_adapters

    DuckDBConnectionManager.close_all_connections()
    reset_adapters()


def dbt_build(warehouse: Path, workdir: Path) -> None:
    """`dbt build` into `warehouse` (target and logs under `workdir`); fails the test on error."""
    from dbt.cli.main import dbtRunner

    mp = pytest.MonkeyPatch()
    mp.setenv("RCM_WAREHOUSE", str(warehouse))
    mp.setenv("DO_NOT_TRACK", "1")
    try:
        result = dbtRunner().invoke(
            ["build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
             "--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs"),
             "--no-partial-parse", "--threads", "4", "--quiet"]
        )  # fmt: skip
    finally:
        mp.undo()
        close_dbt_connections()
    failures = [
        f"{r.node.unique_id}: {r.status} {r.message or ''}"
        for r in (result.result or ())
        if str(r.status) not in ("success", "pass")
    ]
    assert result.success, f"dbt build failed: {result.exception or failures}"
