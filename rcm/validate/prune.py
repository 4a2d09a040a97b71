"""Keep the GX stores in step with the published warehouse.

Validation results are written to the file-backed GX context beside the warehouse while a
run loads, before it publishes. A run that dies or fails before publishing leaves results
there for loads the published warehouse never received. Before the Data Docs are rebuilt,
every stored result (and its rendered page) whose load is not in the published
`ops.validation_results` is removed, so the Data Docs show exactly what was published.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from rcm.validate.runner import gx_root_for_database

# <gx root>/gx/uncommitted/{validations, data_docs/local_site/validations}/<suite>/<run name>/
_STORES = ("validations", "data_docs/local_site/validations")


def published_load_ids(warehouse: Path) -> set[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("select distinct load_id from ops.validation_results").fetchall()
        try:  # 835 files validated as one chunk: the GX run is the chunk's
            rows += con.execute(
                "select distinct validated_with from ops.validation_results "
                "where validated_with is not null"
            ).fetchall()
        except duckdb.BinderException:  # a warehouse from before the column
            pass
        return {row[0] for row in rows}
    except duckdb.CatalogException:
        return set()
    finally:
        con.close()


def load_id_of_run_name(run_name: str) -> str:
    """The loader's load id in a GX run name ``<extract>-<load id>`` (see runner.validate_batch)."""
    return run_name.split("-", 1)[1] if "-" in run_name else run_name


def prune_unpublished_results(warehouse: Path, database: Path) -> int:
    """Remove stored results (and Data Docs pages) of loads not in the published warehouse.

    `database` is the path the loads were validated under (the working copy, whose GX root
    ``<warehouse>_gx`` is where the nightly keeps its stores). Returns how many stored run
    folders were removed.
    """
    root = gx_root_for_database(database) / "gx" / "uncommitted"
    if not root.is_dir() or not Path(warehouse).exists():
        return 0
    keep = published_load_ids(Path(warehouse))
    removed = 0
    for store in _STORES:
        for suite in (root / store).glob("*"):
            if not suite.is_dir():
                continue
            for run in suite.iterdir():
                if run.is_dir() and load_id_of_run_name(run.name) not in keep:
                    shutil.rmtree(run)
                    removed += store == "validations"
    return removed
