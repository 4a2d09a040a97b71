"""How the report writes numbers: money with $ and separators, rates as percentages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from rcm.errors import RcmError
from rcm.report.data import parse_month
from rcm.report.formatting import count, money, money_change, points, rate, ratio


@pytest.mark.parametrize(
    ("value", "cents", "shown"),
    [
        (Decimal("1234567.891"), True, "$1,234,567.89"),
        (Decimal("-1234.5"), True, "-$1,234.50"),
        (Decimal("-0.001"), True, "$0.00"),
        (Decimal("181508.15"), False, "$181,508"),
        (None, True, "\u2014"),
    ],
)
def test_money(value, cents, shown) -> None:
    assert money(value, cents) == shown


def test_rates_counts_and_changes() -> None:
    assert rate(0.0976) == "9.8%" and rate(1.0) == "100.0%" and rate(None) == "\u2014"
    assert ratio(0.30149) == "0.301" and count(12345) == "12,345"
    assert points(-0.21) == "-21.0 pts" and money_change(Decimal("-5520.4")) == "-$5,520"


@pytest.mark.parametrize("text", ["2026-1", "2026-13", "26-02", "February 2026", "2026/02"])
def test_parse_month_rejects(text) -> None:
    with pytest.raises(RcmError, match="YYYY-MM"):
        parse_month(text)


def test_parse_month() -> None:
    assert parse_month("2026-02") == dt.date(2026, 2, 1)
