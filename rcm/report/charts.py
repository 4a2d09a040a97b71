"""The report's charts: matplotlib figures rendered to inline SVG (no network, no script).

Each function takes the figures of `rcm.report.data` and returns the `<svg>` element as a
string. A chart with nothing to show still renders (a labelled empty frame), so the report
always has the same sections.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable, Sequence

import matplotlib

# Figures are built from matplotlib.figure.Figure, never pyplot: no GUI backend and no global
# figure state is involved, and savefig(format="svg") draws through the SVG canvas.
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from rcm.report.data import GAP_TYPES, ReportData
from rcm.report.formatting import month_short

INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#e4e7eb"
GOOD = "#2f855a"
BAD = "#c53030"
BAND = "#38a169"
PALETTE = (
    "#2b6cb0", "#dd6b20", "#2f855a", "#805ad5", "#c53030",
    "#d69e2e", "#319795", "#b83280", "#4a5568", "#718096",
)  # fmt: skip
GAP_COLORS = dict(
    zip(GAP_TYPES, ("#c53030", "#dd6b20", "#805ad5", "#d69e2e", "#2b6cb0"), strict=True)
)
MAX_BARS = 15

_RC = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # ships with matplotlib: the same metrics everywhere
    "font.size": 9.5,
    "axes.edgecolor": "#9aa5b1",
    "axes.labelcolor": INK,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "legend.frameon": False,
    "svg.fonttype": "none",  # text stays text: small, selectable, searchable
}


def _money_axis(value: float, _pos=None) -> str:
    size = abs(value)
    sign = "-" if value < 0 else ""
    if size >= 1_000_000:
        return f"{sign}${size / 1_000_000:,.1f}M"
    if size >= 10_000:
        return f"{sign}${size / 1_000:,.0f}k"
    return f"{sign}${size:,.0f}"


def _render(chart_id: str, title: str, draw: Callable[[Figure], None], height: float) -> str:
    with matplotlib.rc_context(_RC | {"svg.hashsalt": chart_id}):
        figure = Figure(figsize=(9.6, height), layout="constrained")
        draw(figure)
        buffer = io.StringIO()
        figure.savefig(
            buffer,
            format="svg",
            metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
            facecolor="white",
        )
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML declaration and DOCTYPE (inline in HTML)
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    label = title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" class="chart-svg" ', 1)


def _empty(axes, message: str) -> None:
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", color=MUTED, fontsize=11,
              transform=axes.transAxes)  # fmt: skip


def _hbar_labels(axes, bars, labels: Sequence[str]) -> None:
    for bar, text in zip(bars, labels, strict=True):
        width = bar.get_width()
        axes.annotate(
            text,
            (width, bar.get_y() + bar.get_height() / 2),
            annotation_clip=False,
            xytext=(4 if width >= 0 else -4, 0),
            textcoords="offset points",
            ha="left" if width >= 0 else "right",
            va="center",
            fontsize=8.5,
            color=INK,
        )


def denial_trend(data: ReportData) -> str:
    """Initial denial rate by payer, month by month, against the 5-10% industry band."""
    title = "Initial denial rate by payer"
    months = data.trend_months
    payers = sorted({r["payer"] for r in data.denial_trend})

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        if not data.denial_trend:
            _empty(axes, "No claims adjudicated in these months")
            return
        axes.axhspan(0.05, 0.10, color=BAND, alpha=0.10, lw=0, label="Industry typical 5\u201310%")
        axes.axhline(0.05, color=BAND, lw=0.8, ls="--", label="Goal: under 5%")
        index = {m: i for i, m in enumerate(months)}
        top = 0.12
        for n, payer in enumerate(payers):
            points = sorted(
                (index[r["month"]], r["initial_denial_rate"])
                for r in data.denial_trend
                if r["payer"] == payer
                and r["initial_denial_rate"] is not None
                and r["month"] in index
            )
            if not points:
                continue
            xs, ys = zip(*points, strict=True)
            top = max(top, *ys)
            axes.plot(xs, ys, marker="o", ms=5, lw=2, color=PALETTE[n % len(PALETTE)],
                      label=payer)  # fmt: skip
        axes.set_xticks(range(len(months)), [month_short(m) for m in months])
        axes.set_xlim(-0.4, max(len(months) - 0.6, 0.4))
        axes.set_ylim(0, min(1.0, top * 1.15))
        axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        axes.set_ylabel("Claims denied / claims adjudicated")
        axes.grid(axis="y", color=GRID)
        axes.set_axisbelow(True)
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8.5)

    return _render("chart-denial-trend", title, draw, 3.6)


def denials_by_category(data: ReportData) -> str:
    title = f"Denied dollars by CARC category, {month_short(data.month)}"
    categories = [r for r in data.denial_categories if r["dollars_denied"]]

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        if not categories:
            _empty(axes, "No denials on first adjudication this month")
            return
        shown = list(reversed(categories[:MAX_BARS]))
        values = [float(r["dollars_denied"]) for r in shown]
        bars = axes.barh([r["category"] for r in shown], values, color=BAD, height=0.6)
        _hbar_labels(
            axes,
            bars,
            [f"{_money_axis(v)}  ({r['share']:.0%})" for v, r in zip(values, shown, strict=True)],
        )
        axes.set_xlim(0, max(values) * 1.25)
        axes.xaxis.set_major_formatter(FuncFormatter(_money_axis))
        axes.set_xlabel("Denied dollars (denial-CARC adjustments on first adjudication)")
        axes.grid(axis="x", color=GRID)
        axes.set_axisbelow(True)

    return _render("chart-denials-by-category", title, draw, 0.9 + 0.38 * max(len(categories), 2))


def coding_by_coder(data: ReportData) -> str:
    title = f"Coding accuracy by coder, {month_short(data.month)}"
    coders = [r for r in data.coders if r["code_accuracy_rate"] is not None]

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        if not coders:
            _empty(axes, "No encounters coded this month")
            return
        shown = list(reversed(coders))  # worst at the top
        rates = [r["code_accuracy_rate"] for r in shown]
        colors = [BAD if r < 0.95 else GOOD for r in rates]
        bars = axes.barh([r["coder"] for r in shown], rates, color=colors, height=0.6)
        _hbar_labels(axes, bars, [f"{r:.1%}" for r in rates])
        low = min(0.9, min(rates) - 0.02)
        axes.axvline(0.95, color=INK, lw=1.2, ls="--")
        axes.text(0.95, 1.0, " 95% minimum", transform=axes.get_xaxis_transform(),
                  va="bottom", ha="center", fontsize=8.5, color=INK)  # fmt: skip
        axes.set_xlim(max(0.0, low), 1.0)
        axes.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        axes.set_xlabel("Code-over-code accuracy (correct codes / codes compared)")
        axes.grid(axis="x", color=GRID)
        axes.set_axisbelow(True)

    return _render("chart-coding-by-coder", title, draw, 0.9 + 0.32 * max(len(coders), 3))


def gaps_by_department(data: ReportData) -> str:
    title = f"Documentation-gap dollars by type and department, {month_short(data.month)}"
    departments = [d for d in data.gap_departments if d["total"]]

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        if not departments:
            _empty(axes, "No priced documentation gaps this month")
            return
        shown = list(reversed(departments[:MAX_BARS]))
        labels = [f"{d['department_id']} \u00b7 {d['department']}" for d in shown]
        left = [0.0] * len(shown)
        for gap, name in GAP_TYPES.items():
            values = [float(d[gap] or 0) for d in shown]
            if not any(values):
                continue
            axes.barh(labels, values, left=left, color=GAP_COLORS[gap], height=0.6, label=name)
            left = [a + b for a, b in zip(left, values, strict=True)]
        for y, total in enumerate(left):
            axes.annotate(_money_axis(total), (total, y), xytext=(4, 0), textcoords="offset points",
                          va="center", fontsize=8.5, color=INK)  # fmt: skip
        axes.set_xlim(0, max(left) * 1.18)
        axes.xaxis.set_major_formatter(FuncFormatter(_money_axis))
        axes.set_xlabel("Dollars at risk")
        axes.grid(axis="x", color=GRID)
        axes.set_axisbelow(True)
        axes.legend(loc="lower right", fontsize=8.5)
        if len(departments) > MAX_BARS:
            axes.set_title(f"Top {MAX_BARS} of {len(departments)} departments by dollars",
                           loc="left", fontsize=9, color=MUTED, fontweight="normal")  # fmt: skip

    return _render(
        "chart-gaps-by-department", title, draw, 0.9 + 0.34 * max(len(departments[:MAX_BARS]), 3)
    )


def cost_by_facility(data: ReportData) -> str:
    title = f"Cost, payments and margin by facility, {month_short(data.month)}"
    facilities = data.cost_facilities

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        if not facilities:
            _empty(axes, "No charges with a service date this month")
            return
        xs = range(len(facilities))
        cost = [float(r["cost"] or 0) for r in facilities]
        paid = [float(r["payments"] or 0) for r in facilities]
        margin = [float(r["margin"] or 0) for r in facilities]
        width = 0.38
        axes.bar([x - width / 2 for x in xs], cost, width, color="#a0aec0", label="Cost")
        axes.bar(
            [x + width / 2 for x in xs], paid, width, color="#2b6cb0", label="Payments to date"
        )
        axes.scatter(list(xs), margin, marker="D", s=36, zorder=3,
                     color=[GOOD if m >= 0 else BAD for m in margin], label="Margin")  # fmt: skip
        for x, m in zip(xs, margin, strict=True):
            axes.annotate(_money_axis(m), (x, m), xytext=(8, 0), textcoords="offset points",
                          va="center", fontsize=8.5, color=GOOD if m >= 0 else BAD)  # fmt: skip
        axes.axhline(0, color="#9aa5b1", lw=0.8)
        axes.set_xticks(
            list(xs), [f"{r['facility_id']}\n{_wrap(r['facility'])}" for r in facilities]
        )
        axes.yaxis.set_major_formatter(FuncFormatter(_money_axis))
        axes.grid(axis="y", color=GRID)
        axes.set_axisbelow(True)
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8.5)

    return _render("chart-cost-by-facility", title, draw, 3.6)


def margin_by_department(data: ReportData) -> str:
    title = f"Margin by department, {month_short(data.month)}"
    departments = [d for d in data.cost_departments if d["margin"] is not None]
    ranked = sorted(departments, key=lambda d: abs(d["margin"]), reverse=True)[:MAX_BARS]
    shown = sorted(ranked, key=lambda d: d["margin"])

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        if not shown:
            _empty(axes, "No charges with a service date this month")
            return
        values = [float(d["margin"]) for d in shown]
        labels = [f"{d['department_id']} \u00b7 {d['department']}" for d in shown]
        bars = axes.barh(labels, values, color=[GOOD if v >= 0 else BAD for v in values],
                         height=0.6)  # fmt: skip
        _hbar_labels(axes, bars, [_money_axis(v) for v in values])
        span = max(abs(v) for v in values) or 1.0
        axes.set_xlim(min(0.0, min(values)) - 0.22 * span, max(0.0, max(values)) + 0.22 * span)
        axes.axvline(0, color="#9aa5b1", lw=0.8)
        axes.xaxis.set_major_formatter(FuncFormatter(_money_axis))
        axes.set_xlabel("Margin = payments to date \u2212 cost")
        axes.grid(axis="x", color=GRID)
        axes.set_axisbelow(True)
        if len(departments) > MAX_BARS:
            axes.set_title(f"{MAX_BARS} of {len(departments)} departments with the largest margin "
                           "(either sign)", loc="left", fontsize=9, color=MUTED,
                           fontweight="normal")  # fmt: skip

    return _render("chart-margin-by-department", title, draw, 0.9 + 0.32 * max(len(shown), 3))


def _wrap(name: str, width: int = 18) -> str:
    lines = textwrap.wrap(name, width)
    return "\n".join(lines[:2]) + ("\u2026" if len(lines) > 2 else "")


#: chart id -> renderer, in the order of the report
CHARTS: dict[str, Callable[[ReportData], str]] = {
    "chart-denial-trend": denial_trend,
    "chart-denials-by-category": denials_by_category,
    "chart-coding-by-coder": coding_by_coder,
    "chart-gaps-by-department": gaps_by_department,
    "chart-cost-by-facility": cost_by_facility,
    "chart-margin-by-department": margin_by_department,
}


def render_all(data: ReportData) -> dict[str, str]:
    return {chart_id: draw(data) for chart_id, draw in CHARTS.items()}


__all__ = ["CHARTS", "render_all"]
