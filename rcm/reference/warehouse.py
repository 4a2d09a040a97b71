"""Reference code sets in the warehouse's `ref` schema (loaded from packages, never downloaded)."""

from __future__ import annotations

import duckdb

from rcm.reference.icd10cm import RELEASE, code_table


def ensure_icd10cm(con: duckdb.DuckDBPyConnection) -> bool:
    """Create or refresh `ref.icd10cm` when its release differs from the shipped one.

    Returns True when the table was (re)written. The seeds (CARC categories, payers,
    cost-to-charge ratios, ...) are dbt's; this is the one large code set.
    """
    con.execute("create schema if not exists ref")
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'ref' and table_name = 'icd10cm'"
    ).fetchall()[0][0]
    if exists:
        current = con.execute("select any_value(release) from ref.icd10cm").fetchall()[0][0]
        if current == RELEASE:
            return False
    con.register("icd10cm_release", code_table())
    try:
        con.execute("create or replace table ref.icd10cm as select * from icd10cm_release")
    finally:
        con.unregister("icd10cm_release")
    return True
