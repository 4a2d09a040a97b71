"""The GX/duckdb-engine workaround (GX issue 11579) and the shared-connection design."""

from __future__ import annotations

import duckdb
import great_expectations as gx
import pytest
import sqlalchemy as sa

from rcm.validate import gx_duckdb
from rcm.validate.shared_connection import shared_duckdb


def _validate_not_null(con: duckdb.DuckDBPyConnection):
    with shared_duckdb(con) as url:
        context = gx.get_context(mode="ephemeral")
        datasource = context.data_sources.add_sql("w", connection_string=url)
        asset = datasource.add_query_asset("enc", query="select * from raw.encounters")
        batch = asset.add_batch_definition_whole_table("all").get_batch()
        try:
            return batch.validate(
                gx.expectations.ExpectColumnValuesToNotBeNull(column="encounter_id")
            )
        finally:
            datasource.get_execution_engine().close()
            datasource.get_engine().dispose()


def test_workaround_is_needed_and_works(warehouse: duckdb.DuckDBPyConnection) -> None:
    was_installed = gx_duckdb.is_installed()
    try:
        gx_duckdb.uninstall()
        broken = _validate_not_null(warehouse)
        assert not broken.success
        assert "IndexError" in str(broken.exception_info)  # upstream issue 11579

        gx_duckdb.install()
        gx_duckdb.install()  # idempotent
        fixed = _validate_not_null(warehouse)
        assert fixed.success
        assert fixed.result["element_count"] == 24
    finally:
        (gx_duckdb.install if was_installed else gx_duckdb.uninstall)()


def test_second_engine_on_open_file_is_refused(warehouse: duckdb.DuckDBPyConnection) -> None:
    """Why shared_connection exists: duckdb-engine's config differs from the loader's."""
    path = warehouse.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()[0]
    engine = sa.create_engine(f"duckdb:///{path}")
    with pytest.raises(sa.exc.OperationalError, match="different configuration"):
        engine.connect()
    engine.dispose()


def test_shared_connection_sees_committed_data(warehouse: duckdb.DuckDBPyConnection) -> None:
    with shared_duckdb(warehouse) as url:
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            count = connection.execute(sa.text("select count(*) from raw.charges")).scalar()
        engine.dispose()
    assert count == 24
    assert warehouse.execute("select count(*) from raw.charges").fetchone()[0] == 24
