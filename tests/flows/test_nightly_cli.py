"""`rcm nightly` as an operator runs it: a subprocess, its whole output read.

One small generated night: the command exits 0, prints no traceback, ends with the
one-screen summary (files per extract, rows, expectations, dbt results, report paths), and
nothing it prints (Prefect's logs included) carries a seeded patient id, birth date,
encounter or claim id, 835 name or member id.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from phi import seeded_phi

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    from rcm.generate import generate

    tmp = tmp_path_factory.mktemp("nightly-cli")
    landing = tmp / "landing"
    generate(landing, encounters=60, seed=23, start_date=dt.date(2026, 3, 1), days=30)
    # a short night keeps the test quick: the first days' extracts and the first 835s
    # (whose claims come from those days' visits; every file is validated, ~0.5 s each)
    for extract, keep in (("encounters", 6), ("charges", 6), ("remittances", 4)):
        for path in sorted((landing / extract).iterdir())[keep:]:
            path.unlink()
    warehouse = tmp / "warehouse.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.pop("RCM_DEBUG", None)
    env["PREFECT_HOME"] = str(tmp / "prefect-home")
    proc = subprocess.run(
        [sys.executable, "-m", "rcm", "nightly", "--landing", str(landing),
         "--warehouse", str(warehouse)],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    return landing, warehouse, proc


def test_exits_zero_without_traceback_and_ends_with_the_summary(night) -> None:
    _, warehouse, proc = night
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = proc.stdout + proc.stderr
    assert "Traceback" not in printed
    summary = proc.stdout.strip().splitlines()
    assert summary[0].startswith("rcm nightly ") and ": success in " in summary[0]
    assert len(summary) <= 20
    text = "\n".join(summary)
    for expected in ("encounters", "charges", "remittances", "expectations", "dbt ", "report"):
        assert expected in text
    html = re.search(r"report html\s+(\S+)", text)
    assert html and Path(html.group(1)).is_file()
    assert Path(html.group(1)).parent == warehouse.parent / "reports"
    assert (warehouse.parent / "reports" / "dbt-docs" / "index.html").is_file()


def test_progress_is_shown_for_the_load(night) -> None:
    _, _, proc = night
    assert re.search(r"loading: \d+/\d+ files", proc.stdout + proc.stderr)


def test_nothing_printed_names_a_patient(night) -> None:
    landing, _, proc = night
    printed = proc.stdout + proc.stderr
    phi = seeded_phi(landing)
    assert phi["ids"] and phi["birth_dates"] and phi["names"]
    for kind, values in phi.items():
        leaked = sorted(v for v in values if v in printed)
        assert not leaked, f"{len(leaked)} {kind} printed by rcm nightly"
