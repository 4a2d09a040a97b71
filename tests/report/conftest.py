"""Fixtures of the report tests: one published warehouse and one report per session."""

from __future__ import annotations

import pytest
from report_warehouse import BuiltWarehouse, build_warehouse


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> BuiltWarehouse:
    """The sample landing folder loaded in two runs, validated, built by dbt and published."""
    return build_warehouse(tmp_path_factory.mktemp("report_warehouse"))


@pytest.fixture(scope="session")
def report(built_warehouse, tmp_path_factory):
    """The report for the default month (the latest with data), written once."""
    from rcm.report import write_report

    return write_report(built_warehouse.warehouse, tmp_path_factory.mktemp("reports"))
