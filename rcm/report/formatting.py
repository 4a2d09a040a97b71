"""How numbers read in the finance report: money, rates, counts, months (jinja2 filters)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

DASH = "\u2014"  # shown for a missing value (no data, or a rate with a zero denominator)


def money(value: Decimal | float | int | None, cents: bool = True) -> str:
    """$1,234.56 (or $1,235 without cents); negatives as -$1,234.56."""
    if value is None:
        return DASH
    text = f"${abs(value):,.2f}" if cents else f"${abs(value):,.0f}"
    return f"-{text}" if value < 0 and text.strip("$0.,") else text


def rate(value: float | None, places: int = 1) -> str:
    """A fraction as a percentage: 0.0834 -> 8.3%."""
    if value is None:
        return DASH
    return f"{value:.{places}%}"


def ratio(value: float | None) -> str:
    """A plain ratio (cost-to-charge): 0.452."""
    return DASH if value is None else f"{value:.3f}"


def count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def points(delta: float | None) -> str:
    """Change of a rate in percentage points: +1.2 pts."""
    if delta is None:
        return DASH
    return f"{delta * 100:+.1f} pts"


def money_change(delta: Decimal | float | None) -> str:
    if delta is None:
        return DASH
    sign = "+" if delta >= 0 else "-"
    return f"{sign}${abs(delta):,.0f}"


def month_name(month: dt.date | None) -> str:
    """2026-02-01 -> February 2026."""
    return DASH if month is None else f"{month:%B %Y}"


def month_short(month: dt.date) -> str:
    """2026-02-01 -> Feb 2026."""
    return f"{month:%b %Y}"


def divide(numerator, denominator) -> float | None:
    """A ratio of sums; None when the denominator is 0 or missing (as in the marts)."""
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


FILTERS = {
    "money": money,
    "rate": rate,
    "ratio": ratio,
    "count": count,
    "points": points,
    "money_change": money_change,
    "month_name": month_name,
    "month_short": month_short,
}
