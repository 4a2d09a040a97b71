"""`rcm report`: the monthly finance report from the published warehouse (HTML + XLSX).

    from rcm.report import write_report
    paths = write_report(Path("data/warehouse.duckdb"), Path("data/reports"), month="2026-02")

The warehouse is opened read-only; the report holds aggregates only (marts, and counts and
reasons from `ops` and `quarantine`), never a patient-level value.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rcm.errors import RcmError

__all__ = ["ReportPaths", "write_report"]

GX_DOCS = Path("gx", "uncommitted", "data_docs", "local_site", "index.html")


@dataclass(frozen=True)
class ReportPaths:
    """The files one report run wrote."""

    html: Path
    xlsx: Path

    def describe(self) -> str:
        return f"{self.html}\n{self.xlsx}"


def gx_docs_index(warehouse: Path) -> Path:
    """Great Expectations Data Docs of the warehouse (the validation runner's GX root)."""
    root = os.environ.get("RCM_GX_DIR") or f"{warehouse}_gx"
    return Path(root) / GX_DOCS


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename: no half-written report."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_report(warehouse: Path, out: Path, month: str | None = None) -> ReportPaths:
    """Write `revenue-cycle-report-YYYY-MM.html` and `.xlsx` into `out` for `month`.

    `month` is YYYY-MM; by default the latest month with data in the marts. Raises RcmError
    (one line) for a missing or unbuilt warehouse, a malformed month or a month without data.
    """
    from rcm.report import charts, html, workbook
    from rcm.report.data import collect, connect_read_only, resolve_month

    warehouse, out = Path(warehouse), Path(out)
    generated_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con = connect_read_only(warehouse)
    try:
        report_month = resolve_month(con, month)
        data = collect(con, warehouse, report_month)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RcmError(f"cannot create the report folder {out}: {exc.strerror}") from exc
        stem = f"revenue-cycle-report-{report_month:%Y-%m}"
        paths = ReportPaths(html=out / f"{stem}.html", xlsx=out / f"{stem}.xlsx")
        links = {
            "gx": html.href(gx_docs_index(warehouse), out),
            "dbt": html.href(out / "dbt-docs" / "index.html", out),
        }
        page = html.render(data, charts.render_all(data), links, generated_at)
        _write_atomically(paths.html, lambda p: p.write_text(page, encoding="utf-8"))
        _write_atomically(paths.xlsx, lambda p: workbook.write_workbook(con, data, p, generated_at))
    finally:
        con.close()
    return paths
