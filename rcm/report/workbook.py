"""The report's XLSX workbook: a summary sheet, then one formatted sheet per mart (openpyxl).

Each mart sheet holds the mart's rows up to the report month, its columns as named in the
warehouse (docs/metrics.md defines them) with the display names of payers, facilities and
departments added next to their ids; money, rate, ratio, count and month number formats, a
styled and frozen header row, an autofilter and column widths fitted to the content.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from rcm.report.data import MARTS, Labels, ReportData

MONEY_FORMAT = '"$"#,##0.00;[Red]-"$"#,##0.00'
RATE_FORMAT = "0.0%"
RATIO_FORMAT = "0.000"
COUNT_FORMAT = "#,##0"
MONTH_FORMAT = "yyyy-mm"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", start_color="102A43", end_color="102A43")
HEADER_BORDER = Border(bottom=Side(style="medium", color="9AA5B1"))
TITLE_FONT = Font(bold=True, size=14, color="102A43")

#: id column -> (name column added after it, lookup on Labels)
NAMES = {
    "payer_id": ("payer_name", Labels.payer_name),
    "facility_id": ("facility_name", Labels.facility),
    "department_id": ("department_name", Labels.department),
}


def number_format(column: str, sql_type: str) -> str | None:
    """The Excel number format of a mart column, from its DuckDB type and name."""
    sql_type = sql_type.upper()
    if sql_type.startswith("DECIMAL"):
        return MONEY_FORMAT
    if sql_type in ("DOUBLE", "FLOAT", "REAL"):
        return RATIO_FORMAT if column.endswith("_ratio") else RATE_FORMAT
    if sql_type in ("BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "UBIGINT"):
        return COUNT_FORMAT
    if sql_type == "DATE":
        return MONTH_FORMAT
    if sql_type.startswith("TIMESTAMP"):
        return DATETIME_FORMAT
    return None


def _mart(
    con: duckdb.DuckDBPyConnection, mart: str, month: dt.date, labels: Labels
) -> tuple[list[str], list[str | None], list[list[Any]]]:
    cursor = con.execute(f"select * from marts.{mart} where month <= ? order by all", [month])
    columns = [d[0] for d in cursor.description]
    formats = [number_format(d[0], str(d[1])) for d in cursor.description]
    records = cursor.fetchall()
    names, fmts, getters = [], [], []
    for i, (column, fmt) in enumerate(zip(columns, formats, strict=True)):
        names.append(column)
        fmts.append(fmt)
        getters.append(lambda r, i=i: r[i])
        if column in NAMES:
            added, lookup = NAMES[column]
            names.append(added)
            fmts.append(None)
            getters.append(lambda r, i=i, lookup=lookup: lookup(labels, r[i]))
    return names, fmts, [[get(r) for get in getters] for r in records]


def _cell_text(value: Any, fmt: str | None) -> str:
    if value is None:
        return ""
    if fmt == MONEY_FORMAT:
        return f"${value:,.2f}"
    if fmt == RATE_FORMAT:
        return f"{value:.1%}"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return f"{value:%Y-%m}"
    return str(value)


def _write_table(
    sheet: Worksheet, header: list[str], formats: list[str | None], body: list[list[Any]]
) -> None:
    sheet.append(header)
    for cell in sheet[1]:
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, HEADER_BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.row_dimensions[1].height = 30
    for record in body:
        sheet.append(record)
    for index, fmt in enumerate(formats, start=1):
        if fmt is None:
            continue
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.number_format = fmt
    for index, name in enumerate(header, start=1):
        longest = max(
            [len(name) * 0.9]
            + [len(_cell_text(record[index - 1], formats[index - 1])) for record in body[:2000]]
        )
        sheet.column_dimensions[get_column_letter(index)].width = min(max(10, longest + 3), 48)
    sheet.freeze_panes = "A2"
    last = get_column_letter(len(header))
    sheet.auto_filter.ref = f"A1:{last}{max(len(body) + 1, 2)}"


def _summary(sheet: Worksheet, data: ReportData, generated_at: dt.datetime) -> None:
    sheet["A1"] = f"Revenue cycle report \u2014 {data.month:%B %Y}"
    sheet["A1"].font = TITLE_FONT
    sheet["A2"] = (
        f"Generated {generated_at:%Y-%m-%d %H:%M} UTC from {data.warehouse.name}; "
        f"compared with {data.prior_month:%B %Y}. Aggregates only, no patient-level data."
    )
    sheet["A2"].font = Font(italic=True, color="616E7C")
    header = ["Measure", f"{data.month:%b %Y}", f"{data.prior_month:%b %Y}", "Benchmark", "Note"]
    sheet.append([])
    sheet.append(header)
    for cell in sheet[4]:
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, HEADER_BORDER
    for kpi in data.kpis:
        fmt = RATE_FORMAT if kpi.kind == "rate" else MONEY_FORMAT
        sheet.append([kpi.label, kpi.value, kpi.prior, kpi.benchmark, kpi.note])
        for cell in sheet[sheet.max_row][1:3]:
            cell.number_format = fmt
    sheet.append([])
    sheet.append(
        ["Sheets", "One per mart, rows up to the report month; definitions in docs/metrics.md."]
    )
    for index, width in enumerate((34, 16, 16, 52, 90), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for row in sheet.iter_rows(min_row=5):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=cell.column > 3)
    sheet.freeze_panes = "A5"


def write_workbook(
    con: duckdb.DuckDBPyConnection, data: ReportData, path: Path, generated_at: dt.datetime
) -> None:
    labels = Labels.load(con)
    book = Workbook()
    summary = book.active
    summary.title = "summary"
    _summary(summary, data, generated_at)
    for mart in MARTS:
        header, formats, body = _mart(con, mart, data.month, labels)
        _write_table(book.create_sheet(mart), header, formats, body)
    book.save(path)
