"""The nightly run book: load new extracts, validate every load, build the marts, publish.

Read top to bottom, this is what happens every night:

1. take a working copy of the published warehouse (analysts keep reading the published file);
2. make sure the reference code sets (ICD-10-CM) are in `ref`;
3. load every new encounter, charge and remittance file, each validated by its
   Great Expectations suite before it is appended (bad rows and files are quarantined);
4. build and test the dbt models (every model and test is a Prefect task);
5. record the run in `ops.run_log` and publish the working copy atomically.

A failure at any step leaves the published warehouse as it was.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.tasks import exponential_backoff

from rcm.errors import RcmError
from rcm.load import warehouse as wh
from rcm.load.loader import LoadSummary, load_landing
from rcm.ops.run_log import RunRecord, record_run
from rcm.reference.warehouse import ensure_icd10cm
from rcm.validate import build_data_docs
from rcm.validate.hook import validate_and_record

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt"

io_retries = dict(retries=2, retry_delay_seconds=exponential_backoff(2), retry_jitter_factor=0.5)


@task(name="prepare working copy", **io_retries)
def prepare_working_copy(warehouse: Path) -> Path:
    working = wh.open_working_copy(warehouse)
    get_run_logger().info("working copy ready: %s", working.name)
    return working


@task(name="reference code sets")
def load_reference(working: Path) -> None:
    con = wh.connect(working)
    try:
        if ensure_icd10cm(con):
            get_run_logger().info("ref.icd10cm written from the shipped ICD-10-CM release")
    finally:
        con.close()


@task(name="load and validate new files")
def load_new_files(landing: Path, working: Path, run_id: str) -> LoadSummary:
    summary = load_landing(landing, working, run_id, validate_batch=validate_and_record)
    logger = get_run_logger()
    logger.info("Data Docs: %s", build_data_docs(database=working))
    for result in summary.files:
        if result.status != "loaded":  # the exceptions by name; the rest in the summary
            logger.warning(
                "%s: %s (read %d, loaded %d, quarantined %d)%s",
                result.file.relative_path,
                result.status,
                result.rows_read,
                result.rows_loaded,
                result.rows_quarantined,
                f" - {result.reason}" if result.reason else "",
            )
    logger.info(summary.describe())
    return summary


@flow(name="dbt build")
def build_models(working: Path) -> None:
    """`dbt build` through PrefectDbtRunner: each model and test is a visible task."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.adapters.factory import reset_adapters
    from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

    os.environ["RCM_WAREHOUSE"] = str(working)
    runner = PrefectDbtRunner(
        settings=PrefectDbtSettings(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR),
        raise_on_failure=True,
    )
    try:
        runner.invoke(["build"])
    finally:
        # dbt-duckdb keeps its database open for the process; DuckDB shares one instance per
        # path, so a later run's working copy (same path, new file) would reach the old one
        DuckDBConnectionManager.close_all_connections()
        reset_adapters()


@task(name="publish", **io_retries)
def publish(working: Path, warehouse: Path) -> None:
    wh.publish(working, warehouse)
    get_run_logger().info("published %s", warehouse.name)


@task(name="record run")
def log_run(working: Path, run: RunRecord) -> None:
    con = wh.connect(working)
    try:
        record_run(con, run)
    finally:
        con.close()


@flow(name="rcm-nightly", log_prints=False)
def nightly(
    landing: str = "data/sample/landing", warehouse: str = "data/warehouse.duckdb"
) -> RunRecord:
    """Load, validate, build and publish. Returns the run's record (also in ops.run_log)."""
    landing_path, warehouse_path = Path(landing), Path(warehouse)
    if not landing_path.is_dir():
        raise RcmError(f"landing folder not found: {landing_path}")
    run = RunRecord(
        run_id=f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}",
        landing=str(landing_path),
        warehouse=str(warehouse_path),
    )
    working = run.stage("prepare", prepare_working_copy, warehouse_path)
    run.stage("reference", load_reference, working)
    summary = run.stage("load", load_new_files, landing_path, working, run.run_id)
    run.add_load(summary)
    run.stage("dbt build", build_models, working)
    run.finish("success")
    run.stage("record run", log_run, working, run)
    run.stage("publish", publish, working, warehouse_path)
    return run
