"""Fixtures for the validation tests: a file warehouse with good batches, a shared GX root."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `expectations/` is a top-level package next to `rcm/`
    sys.path.insert(0, str(ROOT))

import validate_samples  # noqa: E402


@pytest.fixture(scope="session")
def gx_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file-backed GX context for the session (keeps the tests fast)."""
    return tmp_path_factory.mktemp("gx")


@pytest.fixture()
def warehouse(tmp_path: Path):
    """The loader's open connection to a working-copy warehouse holding good batches."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    validate_samples.create_encounters(con)
    validate_samples.create_charges(con)
    validate_samples.create_remittances(con)
    yield con
    con.close()
