"""The nightly's report step on a warehouse whose marts are still empty.

A first night whose every file was quarantined publishes marts without rows: the step
copies the dbt docs page, writes no report and says so (a warning), and the run goes on.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from prefect.logging import disable_run_logger


def _empty_marts(path: Path) -> None:
    from rcm.report.data import MARTS

    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    for mart in MARTS:
        con.execute(f"create table marts.{mart} (month date)")
    con.close()


def test_empty_marts_write_no_report_and_do_not_fail(tmp_path: Path) -> None:
    from flows.nightly import reports_dir, write_reports

    warehouse = tmp_path / "warehouse.duckdb"
    _empty_marts(warehouse)
    docs = tmp_path / "static_index.html"
    docs.write_text("<html>dbt docs</html>")
    with disable_run_logger():
        written = write_reports.fn(warehouse, docs)
    assert written == {}
    out = reports_dir(warehouse)
    assert (out / "dbt-docs" / "index.html").read_text() == docs.read_text()
    assert sorted(p.name for p in out.iterdir()) == ["dbt-docs"]  # no html, no xlsx


def test_the_report_command_says_the_marts_are_empty(tmp_path: Path) -> None:
    from rcm.report import write_report
    from rcm.report.data import EmptyMarts

    warehouse = tmp_path / "warehouse.duckdb"
    _empty_marts(warehouse)
    with pytest.raises(EmptyMarts, match=r"^the marts are empty[^\n]*$"):
        write_report(warehouse, tmp_path / "out")
    assert not (tmp_path / "out").exists()
