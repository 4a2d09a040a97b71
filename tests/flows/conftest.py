"""The night the nightly tests share: `rcm nightly` once per session, as an operator runs it.

A small generated hospital (150 encounters, 30 days) goes through `python -m rcm nightly` in a
subprocess: load and validate every file, dbt build, dbt docs, publish, Data Docs, report.
test_nightly_cli.py reads what the command printed; test_nightly_flow.py checks the published
warehouse against the generator's truth and runs the next nights in-process on a copy. One
run serves both: a whole night costs 1-2 minutes on 2 cores, most of it the dbt build
(a Prefect task per node), whatever the data size.

The subprocess talks to the session's Prefect test server (one server start, not one per
run) with a PREFECT_HOME of its own, as tests/flows/test_nightly_safety.py does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 900  # seconds for one whole nightly run on a busy 2-core machine


@dataclass(frozen=True)
class PublishedNight:
    landing: Path
    warehouse: Path
    proc: subprocess.CompletedProcess
    truth: dict

    @property
    def printed(self) -> str:
        return self.proc.stdout + self.proc.stderr

    @property
    def summary(self) -> list[str]:
        """The one-screen summary the command ends with (its standard output)."""
        return self.proc.stdout.strip().splitlines()

    @property
    def run_id(self) -> str:
        """The run id the summary's first line names."""
        match = re.match(r"rcm nightly (\S+): ", self.summary[0]) if self.summary else None
        assert match, self.proc.stdout[-2000:]
        return match.group(1)


@pytest.fixture(scope="session")
def published_night(tmp_path_factory, prefect_harness) -> PublishedNight:
    import prefect.settings

    from rcm.generate import generate

    tmp = tmp_path_factory.mktemp("nightly")
    landing = tmp / "landing"
    generate(landing, encounters=150, seed=5, start_date=dt.date(2026, 2, 1), days=30)
    warehouse = tmp / "warehouse.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    for name in ("RCM_WAREHOUSE", "RCM_GX_DIR", "RCM_DEBUG", "PREFECT_PROFILE"):
        env.pop(name, None)
    env.update(
        PREFECT_API_URL=str(prefect.settings.PREFECT_API_URL.value()),
        PREFECT_HOME=str(tmp_path_factory.mktemp("prefect-home")),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "rcm", "nightly", "--landing", str(landing),
         "--warehouse", str(warehouse)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT,
    )  # fmt: skip
    truth = json.loads((landing / "truth.json").read_text())
    return PublishedNight(landing=landing, warehouse=warehouse, proc=proc, truth=truth)
