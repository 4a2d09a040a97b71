"""`ops.run_log`: one row per nightly run, with counts, outcomes and stage durations.

A run that publishes writes its own row into the working copy it publishes. A run that
publishes nothing (an empty night, or a failed run: the published file is left as it was)
cannot write into the published file without taking a write lock that readers would hit,
so its row waits in `<warehouse>.pending-runs.jsonl` beside it and is folded into
`ops.run_log` by the next run that publishes (insert or replace: folding twice is harmless).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from rcm.errors import RcmError

T = TypeVar("T")

RUN_LOG_DDL = """
create table if not exists ops.run_log (
    run_id varchar primary key,
    started_at timestamp,
    finished_at timestamp,
    status varchar,
    landing varchar,
    warehouse varchar,
    files_by_extract_status json,
    files_loaded integer,
    files_duplicate integer,
    files_quarantined integer,
    files_failed integer,
    rows_loaded bigint,
    rows_quarantined bigint,
    stage_seconds json,
    seconds double
)
"""
# columns added after the first release: existing warehouses get them on the next run
RUN_LOG_ADDED = {
    "failed_stage": "varchar",
    "error": "varchar",
    "expectations_failed_critical": "integer",
    "expectations_failed_warning": "integer",
    "dbt_models_passed": "integer",
    "dbt_models_failed": "integer",
    "dbt_tests_passed": "integer",
    "dbt_tests_failed": "integer",
    "dbt_tests_warned": "integer",
    "dbt_skipped": "integer",
}
RUN_LOG_COLUMNS = (
    "run_id",
    "started_at",
    "finished_at",
    "status",
    "landing",
    "warehouse",
    "files_by_extract_status",
    "files_loaded",
    "files_duplicate",
    "files_quarantined",
    "files_failed",
    "rows_loaded",
    "rows_quarantined",
    "stage_seconds",
    "seconds",
    *RUN_LOG_ADDED,
)
PENDING_SUFFIX = ".pending-runs.jsonl"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class RunRecord:
    """What one nightly run did; stages are timed through `stage`."""

    run_id: str
    landing: str
    warehouse: str
    started_at: dt.datetime = field(default_factory=_now)
    finished_at: dt.datetime | None = None
    status: str = "running"
    files: Counter = field(default_factory=Counter)  # (extract, status) -> count
    rows_loaded: int = 0
    rows_quarantined: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    failed_stage: str | None = None
    error: str | None = None
    expectations_failed: Counter = field(default_factory=Counter)  # severity -> count
    dbt: Counter = field(default_factory=Counter)  # models_passed, tests_failed, ... -> count
    reports: dict[str, str] = field(default_factory=dict)  # written after publish: not logged

    def stage(self, name: str, step: Callable[..., T], *args: Any) -> T:
        """Run one stage, time it, and turn its failure into a one-line reason naming it."""
        started = time.perf_counter()
        try:
            return step(*args)
        except RcmError as exc:
            self._failed(name, f"{name}: {exc}")
            raise RcmError(self.error) from exc
        except Exception as exc:  # noqa: BLE001 - any failure ends the run with its stage named
            self._failed(name, f"{name} failed: {type(exc).__name__}: {_first_line(exc)}")
            raise RcmError(self.error) from exc
        finally:
            self.stage_seconds[name] = round(time.perf_counter() - started, 3)

    def add_load(self, summary: Any) -> None:
        for result in summary.files:
            self.files[(result.file.extract, result.status)] += 1
        self.rows_loaded += summary.rows_loaded
        self.rows_quarantined += summary.rows_quarantined

    def _failed(self, stage: str, error: str) -> None:
        self.failed_stage, self.error = stage, error.splitlines()[0][:500]
        self.finish("failed")

    def count(self, status: str) -> int:
        return sum(n for (_, s), n in self.files.items() if s == status)

    def finish(self, status: str) -> None:
        self.status = status
        self.finished_at = _now()

    def row(self) -> dict[str, Any]:
        """The run as an ops.run_log row (JSON-ready: timestamps as ISO text)."""
        by_extract: dict[str, dict[str, int]] = {}
        for (extract, status), n in sorted(self.files.items()):
            by_extract.setdefault(extract, {})[status] = n
        finished = self.finished_at or _now()
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": finished.isoformat(),
            "status": self.status,
            "landing": self.landing,
            "warehouse": self.warehouse,
            "files_by_extract_status": json.dumps(by_extract),
            "files_loaded": self.count("loaded"),
            "files_duplicate": self.count("duplicate"),
            "files_quarantined": self.count("quarantined"),
            "files_failed": self.count("failed"),
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "stage_seconds": json.dumps(self.stage_seconds),
            "seconds": round((finished - self.started_at).total_seconds(), 3),
            "failed_stage": self.failed_stage,
            "error": self.error,
            "expectations_failed_critical": self.expectations_failed["critical"],
            "expectations_failed_warning": self.expectations_failed["warning"],
            "dbt_models_passed": self.dbt["models_passed"],
            "dbt_models_failed": self.dbt["models_failed"],
            "dbt_tests_passed": self.dbt["tests_passed"],
            "dbt_tests_failed": self.dbt["tests_failed"],
            "dbt_tests_warned": self.dbt["tests_warned"],
            "dbt_skipped": self.dbt["skipped"],
        }

    def count_failed_expectations(self, con: duckdb.DuckDBPyConnection) -> None:
        """Failed expectations of this run's loads, by severity, from ops.validation_results."""
        rows = con.execute(
            "select severity, count(*) from ops.validation_results "
            "where not success and starts_with(load_id, ?) group by severity",
            [f"{self.run_id}:"],
        ).fetchall()
        self.expectations_failed = Counter(dict(rows))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


def ensure_run_log(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    con.execute(RUN_LOG_DDL)
    for name, kind in RUN_LOG_ADDED.items():
        con.execute(f"alter table ops.run_log add column if not exists {name} {kind}")


def _insert(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> None:
    names = ", ".join(RUN_LOG_COLUMNS)
    marks = ", ".join("?" for _ in RUN_LOG_COLUMNS)
    con.execute(
        f"insert or replace into ops.run_log ({names}) values ({marks})",
        [row.get(name) for name in RUN_LOG_COLUMNS],
    )


def pending_path(warehouse: str | Path) -> Path:
    return Path(f"{warehouse}{PENDING_SUFFIX}")


def record_pending(warehouse: str | Path, run: RunRecord) -> Path:
    """Keep the row of a run that publishes nothing until a run that publishes folds it in."""
    path = pending_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(run.row()) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return path


def _pending_rows(warehouse: str | Path) -> tuple[list[dict[str, Any]], int]:
    """The waiting rows, and how many lines they were read from."""
    path = pending_path(warehouse)
    if not path.exists():
        return [], 0
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = []
    for line in lines:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by a kill: that run is not recorded
            continue
    return rows, len(lines)


def record_run(con: duckdb.DuckDBPyConnection, run: RunRecord) -> int:
    """Insert the run's row, and the rows waiting beside the warehouse, into ops.run_log.

    Returns how many waiting lines were folded in; `clear_pending` removes them once the
    working copy holding them is published.
    """
    ensure_run_log(con)
    pending, lines = _pending_rows(run.warehouse)
    for row in pending:
        _insert(con, row)
    _insert(con, run.row())
    return lines


def clear_pending(warehouse: str | Path, folded: int) -> None:
    """Drop the first `folded` waiting lines (their rows are in the published ops.run_log)."""
    path = pending_path(warehouse)
    if not path.exists() or folded <= 0:
        return
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    rest = lines[folded:]
    if not rest:
        path.unlink()
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(rest), encoding="utf-8")
    os.replace(tmp, path)
