"""The XLSX workbook: a summary sheet, then one formatted sheet per mart of the contract."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook
from report_warehouse import query

pytestmark = pytest.mark.integration

MARTS = (
    "denial_rates",
    "denials_by_reason",
    "coding_accuracy",
    "documentation_gaps",
    "facility_cost_burden",
)
NAME_COLUMNS = {"payer_id": "payer_name", "facility_id": "facility_name",
                "department_id": "department_name"}  # fmt: skip
MONEY = '"$"#,##0.00;[Red]-"$"#,##0.00'


@pytest.fixture(scope="module")
def book(report):
    return load_workbook(report.xlsx)


@pytest.fixture(scope="module")
def month(report) -> dt.date:
    """The report's month, from its file name (revenue-cycle-report-YYYY-MM.xlsx)."""
    return dt.date.fromisoformat(report.xlsx.stem[-7:] + "-01")


def _columns(warehouse, mart: str) -> list[tuple[str, str]]:
    return query(
        warehouse,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = ? order by ordinal_position",
        [mart],
    )


def test_sheets(book) -> None:
    assert book.sheetnames == ["summary", *MARTS]


@pytest.mark.parametrize("mart", MARTS)
def test_mart_sheet(book, built_warehouse, month, mart) -> None:
    sheet = book[mart]
    columns = _columns(built_warehouse.warehouse, mart)
    expected = []
    for name, _ in columns:
        expected.append(name)
        if name in NAME_COLUMNS:
            expected.append(NAME_COLUMNS[name])
    header = [c.value for c in sheet[1]]
    assert header == expected
    assert all(c.font.bold and c.fill.fgColor.rgb.endswith("102A43") for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    (rows,) = query(
        built_warehouse.warehouse, f"select count(*) from marts.{mart} where month <= ?", [month]
    )[0]
    assert sheet.max_row == rows + 1 and rows > 0
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}{rows + 1}"
    for index, name in enumerate(header, start=1):
        letter = sheet.cell(1, index).column_letter
        assert sheet.column_dimensions[letter].width >= 10, name
        types = dict(columns)
        fmt = sheet.cell(2, index).number_format
        if name not in types:  # an added display name
            assert fmt == "General"
        elif types[name].startswith("DECIMAL"):
            assert fmt == MONEY, name
        elif types[name] == "DOUBLE":
            assert fmt == ("0.000" if name.endswith("_ratio") else "0.0%"), name
        elif types[name] == "BIGINT":
            assert fmt == "#,##0", name
        elif types[name] == "DATE":
            assert fmt == "yyyy-mm", name


def test_money_and_rates_are_numbers(book, built_warehouse, month) -> None:
    sheet = book["denial_rates"]
    header = [c.value for c in sheet[1]]
    charges = header.index("charges_denied") + 1
    rate = header.index("initial_denial_rate") + 1
    total = sum(sheet.cell(r, charges).value or 0 for r in range(2, sheet.max_row + 1))
    (expected,) = query(
        built_warehouse.warehouse,
        "select sum(charges_denied) from marts.denial_rates where month <= ?",
        [month],
    )[0]
    assert total == pytest.approx(float(expected), abs=0.005)
    assert all(
        isinstance(sheet.cell(r, rate).value, int | float | None)
        for r in range(2, sheet.max_row + 1)
    )


def test_summary_sheet(book) -> None:
    sheet = book["summary"]
    assert sheet["A1"].value.startswith("Revenue cycle report")
    labels = [sheet.cell(r, 1).value for r in range(5, 11)]
    assert labels[0] == "Initial denial rate"
    assert sheet.cell(5, 2).number_format == "0.0%"
