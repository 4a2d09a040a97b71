"""The HTML report shows the marts' figures for its month, every chart, and the data quality.

Every expected figure is computed here from the marts with its own SQL and formatted here
($ with thousands separators and cents, rates as percentages with one decimal), then found
in the section of the page that should show it.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from report_html import element, money, rate, row_with, table_rows, text
from report_warehouse import query

from rcm.errors import RcmError
from rcm.report import write_report

pytestmark = pytest.mark.integration

CHART_IDS = (
    "chart-denial-trend",
    "chart-denials-by-category",
    "chart-coding-by-coder",
    "chart-gaps-by-department",
    "chart-cost-by-facility",
    "chart-margin-by-department",
)
MARTS = (
    "coding_accuracy",
    "denial_rates",
    "denials_by_reason",
    "documentation_gaps",
    "facility_cost_burden",
)


@pytest.fixture(scope="module")
def month(built_warehouse) -> dt.date:
    union = " union all ".join(f"select max(month) as m from marts.{m}" for m in MARTS)
    return query(built_warehouse.warehouse, f"select max(m) from ({union})")[0][0]


@pytest.fixture(scope="module")
def page(report) -> str:
    return report.html.read_text(encoding="utf-8")


def _payer_codes(warehouse) -> dict[str, str]:
    """marts payer_id (835 N104, else N102 name) -> ref.payers payer_id, independently."""
    rows = query(warehouse, "select payer_id, payer_name, payer_identifier from ref.payers")
    codes = {}
    for code, name, identifier in rows:
        for key in (identifier, name, code):
            if key:
                codes[key.upper()] = code
    return codes


def test_default_month_is_the_latest_with_data(report, month) -> None:
    assert report.html.name == f"revenue-cycle-report-{month:%Y-%m}.html"
    assert report.xlsx.name == f"revenue-cycle-report-{month:%Y-%m}.xlsx"
    assert report.html.is_file() and report.xlsx.is_file()


def test_every_chart_is_an_inline_svg(page) -> None:
    assert page.count("<svg") == len(CHART_IDS)
    for chart_id in CHART_IDS:
        figure = element(page, chart_id)
        assert figure.startswith("<figure") and figure.count("<svg") == 1, chart_id
        assert "</svg>" in figure and "<figcaption>" in figure


def test_headline_figures_match_the_marts(page, built_warehouse, month) -> None:
    warehouse = built_warehouse.warehouse
    denied, remitted, charges_denied = query(
        warehouse,
        "select sum(claims_denied), sum(claims_remitted), sum(charges_denied) "
        "from marts.denial_rates where month = ?",
        [month],
    )[0]
    card = text(element(page, "kpi-initial-denial-rate"))
    assert rate(denied, remitted) in card
    assert f"{denied:,} of {remitted:,} claims" in card
    assert money(charges_denied, cents=False) in text(element(page, "kpi-denial-rate-dollars"))

    correct, compared, accurate, coded = query(
        warehouse,
        "select sum(codes_correct), sum(codes_compared), sum(encounters_accurate), "
        "sum(encounters_coded) from marts.coding_accuracy where month = ?",
        [month],
    )[0]
    assert rate(correct, compared) in text(element(page, "kpi-code-accuracy-rate"))
    assert rate(accurate, coded) in text(element(page, "kpi-encounter-accuracy-rate"))
    (gaps,) = query(
        warehouse, "select sum(dollars_at_risk) from marts.documentation_gaps where month = ?",
        [month],
    )[0]  # fmt: skip
    assert money(gaps, cents=False) in text(element(page, "kpi-documentation-gap-dollars"))
    payments, cost = query(
        warehouse,
        "select sum(payments), sum(cost) from marts.facility_cost_burden where month = ?",
        [month],
    )[0]
    assert money(payments - cost, cents=False) in text(element(page, "kpi-margin"))


def test_benchmarks_are_stated(page) -> None:
    summary = text(element(page, "summary"))
    assert "5–10%" in summary and "95%" in summary
    assert "95% minimum" in text(element(page, "chart-coding-by-coder"))


def test_prior_month_is_compared(page, built_warehouse, month) -> None:
    prior = (month.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    denied, remitted = query(
        built_warehouse.warehouse,
        "select sum(claims_denied), sum(claims_remitted) from marts.denial_rates where month = ?",
        [prior],
    )[0]
    card = text(element(page, "kpi-initial-denial-rate"))
    assert f"vs {prior:%B %Y} ({rate(denied, remitted)})" in card


def test_denials_by_payer_match_the_marts(page, built_warehouse, month) -> None:
    codes = _payer_codes(built_warehouse.warehouse)
    rows = table_rows(element(page, "table-denials-by-payer"))
    expected = query(
        built_warehouse.warehouse,
        "select payer_id, sum(claims_remitted), sum(claims_denied), sum(charges_remitted), "
        "sum(charges_denied) from marts.denial_rates where month = ? group by payer_id",
        [month],
    )
    assert len(rows) == len(expected)
    for payer_id, remitted, denied, charges, charges_denied in expected:
        row = row_with(rows, codes.get(payer_id.upper(), payer_id))
        assert rate(denied, remitted) in row
        assert money(charges) in row and money(charges_denied) in row
    total = table_rows(element(page, "table-denials-by-payer"), "tfoot")[0]
    remitted = sum(r[1] for r in expected)
    denied = sum(r[2] for r in expected)
    assert total.startswith(f"All payers {remitted:,} {denied:,}")
    assert rate(denied, remitted) in total


def test_denial_trend_table_covers_every_payer_and_month(page, built_warehouse, month) -> None:
    rows = query(
        built_warehouse.warehouse,
        "select count(distinct payer_id), count(distinct month) from marts.denial_rates "
        "where month <= ?",
        [month],
    )[0]
    table = element(page, "table-denial-trend")
    assert len(table_rows(table)) == rows[0]
    assert table.count('<th class="num">') == rows[1]


def test_denied_dollars_by_category_match_the_marts(page, built_warehouse, month) -> None:
    expected = query(
        built_warehouse.warehouse,
        "select denial_category, sum(dollars_denied), sum(lines_denied) "
        "from marts.denials_by_reason where month = ? group by all order by 2 desc",
        [month],
    )
    assert expected, "the sample month has denials"
    table = element(page, "table-denials-by-category")
    rows = table_rows(table)
    assert len(rows) == len(expected)
    for (_, dollars, lines), row in zip(expected, rows, strict=True):
        assert money(dollars) in row and f" {lines:,} " in f" {row} "
    total = sum(r[1] for r in expected)
    assert money(total) in table_rows(table, "tfoot")[0]


def test_coding_accuracy_by_coder_matches_the_marts(page, built_warehouse, month) -> None:
    expected = query(
        built_warehouse.warehouse,
        "select coder_id, sum(codes_correct), sum(codes_compared), sum(encounters_coded) "
        "from marts.coding_accuracy where month = ? group by coder_id",
        [month],
    )
    table = element(page, "table-coding-by-coder")
    rows = table_rows(table)
    assert len(rows) == len(expected)
    for coder, correct, compared, coded in expected:
        row = row_with(rows, coder)
        assert rate(correct, compared) in row and f" {coded:,} " in row
    below = [c for c, correct, compared, _ in expected if correct / compared < 0.95]
    assert table.count('class="flag"') == len(below)


def test_documentation_gaps_match_the_marts(page, built_warehouse, month) -> None:
    expected = dict(
        query(
            built_warehouse.warehouse,
            "select gap_type, sum(dollars_at_risk) from marts.documentation_gaps "
            "where month = ? group by gap_type",
            [month],
        )
    )
    table = element(page, "table-gaps-by-department")
    total = table_rows(table, "tfoot")[0]
    for dollars in expected.values():
        if dollars is not None:
            assert money(dollars) in total
    assert money(sum(v for v in expected.values() if v is not None)) in total
    departments = query(
        built_warehouse.warehouse,
        "select count(distinct (facility_id, department_id)) from marts.documentation_gaps "
        "where month = ?",
        [month],
    )[0][0]
    assert len(table_rows(table)) == departments


def test_cost_burden_by_facility_matches_the_marts(page, built_warehouse, month) -> None:
    expected = query(
        built_warehouse.warehouse,
        "select facility_id, sum(charges), sum(cost), sum(payments) "
        "from marts.facility_cost_burden where month = ? group by facility_id",
        [month],
    )
    rows = table_rows(element(page, "table-cost-by-facility"))
    assert len(rows) == len(expected)
    for facility, charges, cost, payments in expected:
        row = row_with(rows, facility)
        for value in (charges, cost, payments, payments - cost):
            assert money(value) in row, (facility, value)
    departments = query(
        built_warehouse.warehouse,
        "select count(distinct (facility_id, department_id)) from marts.facility_cost_burden "
        "where month = ?",
        [month],
    )[0][0]
    assert len(table_rows(element(page, "table-cost-by-department"))) == departments


def test_data_quality_section(page, built_warehouse) -> None:
    warehouse = built_warehouse.warehouse
    manifest = table_rows(element(page, "table-load-manifest"))
    for extract, seen, loaded, duplicate, quarantined in query(
        warehouse,
        "select extract, count(*), count(*) filter (where status = 'loaded'), "
        "count(*) filter (where status = 'duplicate'), "
        "count(*) filter (where status = 'quarantined') from ops.load_manifest group by all",
    ):
        row = row_with(manifest, extract)
        assert row.startswith(f"{extract} {seen:,} {loaded:,} {duplicate:,} {quarantined:,} ")
    assert re.search(r"encounters \d+ \d+ 1 ", row_with(manifest, "encounters"))
    assert re.search(r"charges \d+ \d+ 0 2 ", row_with(manifest, "charges"))

    rows = text(element(page, "table-quarantine-rows"))
    assert "missing_version" in rows and "updated_at: missing" in rows
    files = text(element(page, "table-quarantine-files"))
    assert "charges_wrong_export.csv" in files and "missing_key_columns" in files
    assert "charges_bad_revenue_code.csv" in files and "validation_failed" in files
    failed = text(element(page, "table-failed-expectations"))
    assert "chk_revenue_code_format" in failed and "critical" in failed
    runs = text(element(page, "table-run-log"))
    assert "report-test-1" in runs and "report-test-2" in runs


def test_links_to_data_docs_and_dbt_docs(page, report, built_warehouse, tmp_path) -> None:
    quality = element(page, "data-quality")
    gx = re.search(r'<a href="([^"]+)">Great Expectations Data Docs</a>', quality)
    assert gx, "the GX Data Docs exist, so the report links them"
    assert (report.html.parent / gx.group(1)).resolve() == (
        built_warehouse.tmp / "warehouse.duckdb_gx/gx/uncommitted/data_docs/local_site/index.html"
    ).resolve()
    assert "dbt docs (models, tests and lineage): not generated" in text(quality)
    # once the nightly run has written the dbt docs next to the reports, they are linked
    (tmp_path / "dbt-docs").mkdir()
    (tmp_path / "dbt-docs" / "index.html").write_text("<html></html>")
    again = write_report(built_warehouse.warehouse, tmp_path)
    assert '<a href="dbt-docs/index.html">dbt docs' in again.html.read_text(encoding="utf-8")


def test_self_contained_no_network(page) -> None:
    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//|@import", page, re.I)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_an_earlier_month(built_warehouse, tmp_path) -> None:
    first = query(built_warehouse.warehouse, "select min(month) from marts.denial_rates")[0][0]
    paths = write_report(built_warehouse.warehouse, tmp_path, month=f"{first:%Y-%m}")
    assert paths.html.name == f"revenue-cycle-report-{first:%Y-%m}.html"
    page = paths.html.read_text(encoding="utf-8")
    assert f"<h1>{first:%B %Y}</h1>" in page
    prior = (first - dt.timedelta(days=1)).replace(day=1)
    assert f"No figure for {prior:%B %Y}" in text(element(page, "kpi-initial-denial-rate"))
    assert page.count("<svg") == len(CHART_IDS)


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "must be YYYY-MM"),
        ("February", "must be YYYY-MM"),
        ("1999-01", "no data for 1999-01"),
    ],
)
def test_bad_month(built_warehouse, tmp_path, month, message) -> None:
    with pytest.raises(RcmError, match=message):
        write_report(built_warehouse.warehouse, tmp_path, month=month)
    assert not list(tmp_path.iterdir())


def test_missing_warehouse(tmp_path) -> None:
    with pytest.raises(RcmError, match="warehouse not found"):
        write_report(tmp_path / "nope.duckdb", tmp_path / "out")
