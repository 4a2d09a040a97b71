"""Every ```sql block of docs/analysts.md runs against a warehouse built from the sample data.

A block returns rows unless its first line says `-- may be empty`. The blocks run on a
read-only connection, as the guide tells analysts to open the warehouse, and none of them
may name a PHI column (the guide works from the marts and the pseudonymous patient_key).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.integration

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "analysts.md"
BLOCKS = re.findall(r"^```sql\n(.*?)^```", GUIDE.read_text(encoding="utf-8"), re.S | re.M)
PHI_COLUMNS = re.compile(
    r"\b(patient_id|mrn|patient_birth_date|birth_date|patient_\w*name|insured_\w*|"
    r"patient_identifier|member_id)\b",
    re.I,
)


def _title(block: str) -> str:
    return " ".join(block.split())[:60]


def test_the_guide_has_a_dozen_queries() -> None:
    assert len(BLOCKS) >= 12


@pytest.fixture(scope="module")
def con(built_warehouse):
    connection = duckdb.connect(str(built_warehouse.warehouse), read_only=True)
    yield connection
    connection.close()


@pytest.mark.parametrize("sql", BLOCKS, ids=[f"query-{i}" for i in range(1, len(BLOCKS) + 1)])
def test_query_runs(con, sql) -> None:
    assert not PHI_COLUMNS.search(sql), f"a PHI column in: {_title(sql)}"
    rows = con.execute(sql).fetchall()
    if not sql.lstrip().lower().startswith("-- may be empty"):
        assert rows, f"no rows from: {_title(sql)}"
