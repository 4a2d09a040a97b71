"""Render the finance report's HTML page from its figures with the package's jinja2 template."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from rcm.report.data import GAP_TYPES, ReportData
from rcm.report.formatting import DASH, FILTERS

TEMPLATE = "report.html.j2"


def _timestamp(value: dt.datetime | None) -> str:
    return DASH if value is None else f"{value:%Y-%m-%d %H:%M}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("rcm.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    env.filters["timestamp"] = _timestamp
    env.filters["duration"] = _duration
    return env


def href(target: Path, page_dir: Path) -> str | None:
    """A link from the page to `target` when that file exists (relative when possible)."""
    if not target.is_file():
        return None
    try:
        return Path(os.path.relpath(target.resolve(), page_dir.resolve())).as_posix()
    except ValueError:  # another drive: no relative path
        return target.resolve().as_uri()


def render(
    data: ReportData,
    charts: dict[str, str],
    links: dict[str, str | None],
    generated_at: dt.datetime,
) -> str:
    template = _environment().get_template(TEMPLATE)
    return template.render(
        data=data,
        charts={chart_id: Markup(svg) for chart_id, svg in charts.items()},  # noqa: S704 - ours
        links=links,
        gap_types=GAP_TYPES,
        data_as_of=_timestamp(data.data_as_of) + (" UTC" if data.data_as_of else ""),
        generated_at=f"{generated_at:%Y-%m-%d %H:%M} UTC",
    )
