"""`rcm nightly` as an operator runs it: a subprocess, its whole output read.

The session's published night (tests/flows/conftest.py: a small generated hospital, one
`python -m rcm nightly`): the command exits 0, prints no traceback, ends with the one-screen
summary (files per extract, rows, expectations, dbt results, report paths), and nothing it
prints (Prefect's logs included) carries a seeded patient id, birth date, encounter or claim
id, 835 name or member id.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from phi import seeded_phi

pytestmark = pytest.mark.integration


def test_exits_zero_without_traceback_and_ends_with_the_summary(published_night) -> None:
    proc, warehouse = published_night.proc, published_night.warehouse
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


def test_dbt_docs_show_every_model_and_test_compiled(published_night) -> None:
    """The docs are generated without compiling again (`--no-compile`): the page must still
    carry the compiled SQL of every model and data test, from the night's build."""
    page = (published_night.warehouse.parent / "reports" / "dbt-docs" / "index.html").read_text()
    nodes = len(re.findall(r'"resource_type": ?"(?:model|test)"', page))
    compiled = len(re.findall(r'"compiled_code": ?"', page))
    assert nodes > 200 and compiled == nodes, (nodes, compiled)


def test_progress_is_shown_for_the_load(published_night) -> None:
    proc = published_night.proc
    assert re.search(r"loading: \d+/\d+ files", proc.stdout + proc.stderr)


def test_nothing_printed_names_a_patient(published_night) -> None:
    proc = published_night.proc
    printed = proc.stdout + proc.stderr
    phi = seeded_phi(published_night.landing)
    assert phi["ids"] and phi["birth_dates"] and phi["names"]
    for kind, values in phi.items():
        leaked = sorted(v for v in values if v in printed)
        assert not leaked, f"{len(leaked)} {kind} printed by rcm nightly"
