"""`ops.run_log`: one row per completed nightly run, with counts and stage durations."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
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

    def stage(self, name: str, step: Callable[..., T], *args: Any) -> T:
        """Run one stage, time it, and turn its failure into a one-line reason naming it."""
        started = time.perf_counter()
        try:
            return step(*args)
        except RcmError as exc:
            raise RcmError(f"{name}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - any failure ends the run with its stage named
            raise RcmError(f"{name} failed: {type(exc).__name__}: {_first_line(exc)}") from exc
        finally:
            self.stage_seconds[name] = round(time.perf_counter() - started, 3)

    def add_load(self, summary: Any) -> None:
        for result in summary.files:
            self.files[(result.file.extract, result.status)] += 1
        self.rows_loaded += summary.rows_loaded
        self.rows_quarantined += summary.rows_quarantined

    def count(self, status: str) -> int:
        return sum(n for (_, s), n in self.files.items() if s == status)

    def finish(self, status: str) -> None:
        self.status = status
        self.finished_at = _now()

    def describe(self) -> str:
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in self.stage_seconds.items())
        return (
            f"run {self.run_id} {self.status}: files {self.count('loaded')} loaded, "
            f"{self.count('duplicate')} duplicate, {self.count('quarantined')} quarantined, "
            f"{self.count('failed')} failed; rows {self.rows_loaded:,} loaded, "
            f"{self.rows_quarantined:,} quarantined; {stages}"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


def record_run(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    """Insert the run's row into ops.run_log (created if missing)."""
    con.execute("create schema if not exists ops")
    con.execute(RUN_LOG_DDL)
    by_extract: dict[str, dict[str, int]] = {}
    for (extract, status), n in sorted(run.files.items()):
        by_extract.setdefault(extract, {})[status] = n
    finished = run.finished_at or _now()
    con.execute(
        "insert or replace into ops.run_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run.run_id,
            run.started_at,
            finished,
            run.status,
            run.landing,
            run.warehouse,
            json.dumps(by_extract),
            run.count("loaded"),
            run.count("duplicate"),
            run.count("quarantined"),
            run.count("failed"),
            run.rows_loaded,
            run.rows_quarantined,
            json.dumps(run.stage_seconds),
            (finished - run.started_at).total_seconds(),
        ],
    )
