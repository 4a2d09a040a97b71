"""The nightly run book: load new extracts, validate every load, build the marts, publish.

Read top to bottom, this is what happens every night:

1. look for new landing files (against the published manifest, read-only); a night with
   nothing new and models built from the same code ends here, leaving the warehouse as is;
2. take a working copy of the published warehouse (analysts keep reading the published file);
3. make sure the reference code sets (ICD-10-CM) are in `ref`;
4. load every new encounter, charge and remittance file, each validated by its
   Great Expectations suite before it is appended (bad rows and files are quarantined);
5. build and test the dbt models (every model and test is a Prefect task; incremental
   models take only the new loads, unless the models changed: then a full refresh, with
   dbt's unit tests and the seeds and the tests of the seeds and `ref`), then the dbt docs;
6. record the run in `ops.run_log` and publish the working copy atomically;
7. refresh the GX Data Docs and write the finance report from the published warehouse.

A failure at any step before 6 leaves the published warehouse as it was; the failed run's
row waits beside the warehouse and lands in `ops.run_log` with the next published run.
"""

from __future__ import annotations

import atexit
import datetime as dt
import importlib
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.settings import PREFECT_API_SSL_CERT_FILE, get_current_settings, temporary_settings
from prefect.tasks import exponential_backoff

from rcm.errors import RcmError
from rcm.load import warehouse as wh
from rcm.load.discover import LandingFile
from rcm.load.loader import LoadSummary, load_landing, pending_files
from rcm.ops.build_state import models_fingerprint, read_fingerprint, write_fingerprint
from rcm.ops.run_log import RunRecord, clear_pending, record_pending, record_run

# Great Expectations, dbt and the ICD-10-CM tables are imported by the steps that use them
# (the first two while the working copy is made, see prepare_working_copy): an empty night
# needs none of them, and their imports alone take seconds.

REPO = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO / "dbt"
SEED_DIRS = (REPO / "rcm" / "reference" / "data",)
PROGRESS_EVERY_SECONDS = 10.0

io_retries = dict(retries=2, retry_delay_seconds=exponential_backoff(2), retry_jitter_factor=0.5)


@dataclass(frozen=True)
class NightPlan:
    new_files: tuple[LandingFile, ...]
    fingerprint: str
    models_current: bool  # the published models were built from this very code

    @property
    def nothing_to_do(self) -> bool:
        return not self.new_files and self.models_current


@task(name="find new files")
def find_new_files(landing: Path, warehouse: Path) -> NightPlan:
    """New landing files and whether the models need a build, from the published file."""
    fingerprint = models_fingerprint(DBT_PROJECT_DIR, SEED_DIRS)
    if not warehouse.exists():
        from rcm.load.discover import find_landing_files

        return NightPlan(tuple(find_landing_files(landing)), fingerprint, False)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        new = tuple(pending_files(con, landing))
        current = read_fingerprint(con) == fingerprint
    finally:
        con.close()
    get_run_logger().info(
        "%d new landing file(s); models %s",
        len(new),
        "built from this code" if current else "to be rebuilt (code or packages changed)",
    )
    return NightPlan(new, fingerprint, current)


#: what the load and build steps import: Great Expectations (about 2.8 s of CPU, scipy and
#: pandas with it), the 835 parser (polars, about 0.1-0.2 s more) and dbt through prefect-dbt
#: (about 1.3 s)
STEP_MODULES = ("rcm.validate.runner", "rcm.era", "prefect_dbt", "dbt.adapters.duckdb")


@task(name="prepare working copy", **io_retries)
def prepare_working_copy(warehouse: Path) -> Path:
    """Copy the published warehouse; meanwhile, in a thread, import what the next steps use.

    The copy is I/O (the file is gigabytes; the GIL is free while the kernel copies) and the
    imports are CPU, so they overlap. The thread is joined before the step ends: later steps
    import nothing alongside it. An import that fails here is left to the step that needs
    the module, which imports it again and reports the error in its own words.
    """
    importer = threading.Thread(
        target=_import_quietly, args=(STEP_MODULES,), name="import step modules", daemon=True
    )
    importer.start()
    try:
        working = wh.open_working_copy(warehouse)
    finally:
        importer.join()
    get_run_logger().info("working copy ready: %s", working.name)
    return working


def _import_quietly(modules: tuple[str, ...]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the step that needs it imports it again
            pass


@task(name="reference code sets")
def load_reference(working: Path) -> None:
    from rcm.reference.warehouse import ensure_icd10cm

    con = wh.connect(working)
    try:
        if ensure_icd10cm(con):
            get_run_logger().info("ref.icd10cm written from the shipped ICD-10-CM release")
    finally:
        con.close()


class _Progress:
    """One log line per file at most every PROGRESS_EVERY_SECONDS (and the last one)."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.rows = total, 0, 0
        self.started = self.last = time.monotonic()

    def __call__(self, result) -> None:
        self.done += 1
        self.rows += result.rows_loaded
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_SECONDS or self.done == self.total:
            self.last = now
            get_run_logger().info(
                "loading: %d/%d files, %s rows loaded, %.0f s",
                self.done,
                self.total,
                f"{self.rows:,}",
                now - self.started,
            )


class _TimedValidation:
    """The validation hook, timed: the run log keeps its share of the load stage."""

    def __init__(self) -> None:
        from rcm.validate.hook import validate_and_record, validate_files_and_record

        self.validate = validate_and_record
        self.validate_chunk = validate_files_and_record
        self.seconds = 0.0

    def __call__(self, *args):
        return self._timed(self.validate, *args)

    def validate_files(self, *args):
        """A chunk of CSV files in one run (see rcm.load.loader.BatchValidator)."""
        return self._timed(self.validate_chunk, *args)

    def _timed(self, validate, *args):
        started = time.perf_counter()
        try:
            return validate(*args)
        finally:
            self.seconds += time.perf_counter() - started


@task(name="load and validate new files")
def load_new_files(
    landing: Path, working: Path, run_id: str, expected: int
) -> tuple[LoadSummary, float]:
    """Returns the load summary and the seconds spent validating (part of the load)."""
    validation = _TimedValidation()
    summary = load_landing(
        landing, working, run_id, validate_batch=validation, progress=_Progress(expected)
    )
    logger = get_run_logger()
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
    logger.info("%s; validation %.1f s of it", summary.describe(), validation.seconds)
    return summary, validation.seconds


def _dbt_runner():
    from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

    return PrefectDbtRunner(
        settings=PrefectDbtSettings(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR),
        raise_on_failure=False,
    )


@contextmanager
def no_ca_bundle_for_plain_http() -> Iterator[None]:
    """Spare each dbt node's Prefect task run the loading of a CA bundle it never uses.

    Every node of a `dbt build` is a Prefect task run in a thread of its own, and each
    opens API clients that build an SSL context from Prefect's CA file (certifi's bundle or
    the one SSL_CERT_FILE names, 100-150 certificates: about 20 ms of CPU per client, three
    or more per node) even when the API is plain HTTP, as a local server or Prefect's
    temporary one is: no TLS, so the context is never used. Here, for an `http://` API (or
    none: the temporary server), the CA file is one certificate of certifi's bundle
    (measured: 155 -> 86-90 ms of overhead per node, docs/benchmarks.md). With an
    `https://` API every setting is left as it is."""
    url = (get_current_settings().api.url or "http://").lower()
    try:
        cafile = _one_certificate_file() if url.startswith("http://") else None
    except OSError:  # only a saving: the build goes on with Prefect's CA file as is
        cafile = None
    if cafile is None:
        yield
        return
    with temporary_settings(updates={PREFECT_API_SSL_CERT_FILE: cafile}):
        yield


_CA_FILE: list[str] = []  # the process's one-certificate file, once written


def _one_certificate_file() -> str | None:
    """A CA file with the first certificate of certifi's bundle (None when the bundle holds
    no PEM certificate), written once per process into a temporary folder removed when the
    process exits. It outlives the build: a node's task thread can still be reporting its
    final state, with a new API client, after dbt has returned (seen under a profiler)."""
    if _CA_FILE and Path(_CA_FILE[0]).is_file():
        return _CA_FILE[0]
    import certifi

    pem = rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n"
    first = re.search(pem, Path(certifi.where()).read_bytes(), re.S)
    if first is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="rcm-prefect-ca-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    cafile = folder / "one-certificate.pem"
    cafile.write_bytes(first.group(0))
    _CA_FILE[:] = [str(cafile)]
    return str(cafile)


def _close_dbt_connections() -> None:
    # dbt-duckdb keeps its database open for the process; DuckDB shares one instance per
    # path, so a later run's working copy (same path, new file) would reach the old one
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.adapters.factory import reset_adapters

    DuckDBConnectionManager.close_all_connections()
    reset_adapters()


_PASSED = {"success", "pass"}
_FAILED = {"error", "fail", "runtime error"}


def count_dbt_results(results) -> dict[str, int]:
    """Models (and seeds, snapshots) and tests (data and unit) by outcome."""
    counts = dict.fromkeys(
        ("models_passed", "models_failed", "tests_passed", "tests_failed", "tests_warned"), 0
    )
    counts["skipped"] = 0
    for result in results:
        status = str(getattr(result.status, "value", result.status)).lower()
        is_test = str(result.node.resource_type).endswith(("test", "unit_test"))
        kind = "tests" if is_test else "models"
        if status == "skipped":
            counts["skipped"] += 1
        elif status == "warn":
            counts["tests_warned" if kind == "tests" else "models_passed"] += 1
        elif status in _PASSED:
            counts[f"{kind}_passed"] += 1
        elif status in _FAILED:
            counts[f"{kind}_failed"] += 1
    return counts


# an incremental night's build (`build_models`): every model and every data test but those
# of the seeds and of the `ref` code sets, which are left out with the seeds and the unit
# tests (a test is left out with any parent left out: dbt's eager indirect selection)
INCREMENTAL_BUILD = [
    "build",
    "--exclude-resource-type",
    "unit_test",
    "--exclude",
    "resource_type:seed",
    "source:ref",
]


@flow(name="dbt build")
def build_models(working: Path, full_refresh: bool = True) -> dict[str, int]:
    """`dbt build` through PrefectDbtRunner: each model and test is a visible task.

    Incremental models take only the new loads' rows, unless the models changed since the
    published build, or there is none (`full_refresh`, the default): then every model is
    rebuilt from `raw`. A failed model or test fails the run with dbt's own message for the
    first failure.

    dbt's unit tests, the seeds and the data tests of the seeds and of the code sets in `ref`
    run with the full refresh only, that is on the first night of new code (the fingerprint
    covers the project, its seed files and the packages, the ICD-10-CM release included). A
    unit test's inputs are fixtures in the project, and the seed and `ref` tables hold what
    the published build loaded and tested: while the code is the one that build was made
    from, they can only pass again (dbt advises unit tests for development and CI, not
    production runs). Every model and every data test of a model run every night.
    """
    os.environ["RCM_WAREHOUSE"] = str(working)
    try:
        with no_ca_bundle_for_plain_http():
            runner = _dbt_runner()
            result = runner.invoke(
                ["build", "--full-refresh"] if full_refresh else INCREMENTAL_BUILD
            )
    finally:
        _close_dbt_connections()
    nodes = list(getattr(result.result, "results", None) or ())
    counts = count_dbt_results(nodes)
    get_run_logger().info(
        "dbt build: %d models ok, %d failed; %d tests ok, %d failed, %d warned; %d skipped",
        counts["models_passed"],
        counts["models_failed"],
        counts["tests_passed"],
        counts["tests_failed"],
        counts["tests_warned"],
        counts["skipped"],
    )
    if not result.success:
        failed = [
            f"{n.node.resource_type} {n.node.name}: {n.status}: {_one_line(n.message or '')}"
            for n in nodes
            if str(getattr(n.status, "value", n.status)).lower() in _FAILED
        ]
        cause = failed[0] if failed else _one_line(str(result.exception or "did not succeed"))
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise DbtBuildFailed(cause + more, counts)
    return counts


def _one_line(message: str, limit: int = 300) -> str:
    """dbt's messages span lines ('Runtime Error in test x' / 'Catalog Error: ...')."""
    text = " - ".join(line.strip() for line in message.splitlines() if line.strip())
    return text[:limit]


class DbtBuildFailed(RcmError):
    def __init__(self, message: str, counts: dict[str, int]) -> None:
        super().__init__(message)
        self.counts = counts


@task(name="dbt docs")
def generate_dbt_docs(working: Path) -> Path:
    """`dbt docs generate --static`: one self-contained page (every mart column described).

    Plain dbtRunner: the docs have no nodes to run, so there is nothing to show as tasks.
    `--no-compile`: the build just before wrote every model and test, compiled, to the same
    target/manifest.json; compiling the project again took 3.5-4.6 s of this step at 1M
    encounters (0.25 s without it, catalog included).
    """
    from dbt.cli.main import dbtRunner

    os.environ["RCM_WAREHOUSE"] = str(working)
    try:
        result = dbtRunner().invoke(
            [
                "docs",
                "generate",
                "--static",
                "--no-compile",
                "--quiet",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
            ]
        )
    finally:
        _close_dbt_connections()
    page = DBT_PROJECT_DIR / "target" / "static_index.html"
    if not result.success or not page.exists():
        raise RcmError("dbt docs generate: " + _one_line(str(result.exception or "no page")))
    return page


@task(name="record run")
def log_run(working: Path, run: RunRecord, fingerprint: str) -> int:
    con = wh.connect(working)
    try:
        run.count_failed_expectations(con)
        write_fingerprint(con, fingerprint, run.run_id)
        return record_run(con, run)
    finally:
        con.close()


@task(name="publish", **io_retries)
def publish(working: Path, warehouse: Path) -> None:
    wh.publish(working, warehouse)
    get_run_logger().info("published %s", warehouse.name)


@task(name="data docs")
def refresh_data_docs(warehouse: Path, working: Path) -> Path:
    """Drop validation results of loads that never published, then rebuild the Data Docs."""
    from rcm.validate import build_data_docs
    from rcm.validate.prune import prune_unpublished_results

    removed = prune_unpublished_results(warehouse, working)
    if removed:
        get_run_logger().info("Data Docs: dropped %d result(s) of unpublished runs", removed)
    return build_data_docs(database=working, full=bool(removed))


@task(name="report")
def write_reports(warehouse: Path, dbt_docs: Path | None) -> dict[str, str]:
    from rcm.report import write_report
    from rcm.report.data import EmptyMarts

    out = reports_dir(warehouse)
    if dbt_docs is not None:
        target = out / "dbt-docs" / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dbt_docs, target)
    try:
        paths = write_report(warehouse, out)
    except EmptyMarts:  # e.g. a first night whose every file was quarantined
        get_run_logger().warning("report: the marts are empty, no report written")
        return {}
    return {"html": str(paths.html), "xlsx": str(paths.xlsx)}


def reports_dir(warehouse: Path) -> Path:
    """Where the nightly writes its reports: `reports/` beside the warehouse file."""
    return Path(warehouse).parent / "reports"


def _summary_markdown(run: RunRecord) -> str:
    from rcm.ops.summary import summary_lines

    return "\n".join(["```", *summary_lines(run), "```"])


@flow(name="rcm-nightly", log_prints=False)
def nightly(
    landing: str = "data/sample/landing", warehouse: str = "data/warehouse.duckdb"
) -> RunRecord:
    """Load, validate, build, publish and report. Returns the run's record (ops.run_log)."""
    landing_path, warehouse_path = Path(landing), Path(warehouse)
    run = RunRecord(
        run_id=f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}",
        landing=str(landing_path),
        warehouse=str(warehouse_path),
    )
    try:
        if not landing_path.is_dir():
            run.stage("find new files", _missing_landing, landing_path)
        plan = run.stage("find new files", find_new_files, landing_path, warehouse_path)
        if plan.nothing_to_do:
            run.finish("success")
            record_pending(warehouse_path, run)
            get_run_logger().info("nothing new: the published warehouse stays as it is")
            create_markdown_artifact(_summary_markdown(run), key="nightly-summary")
            return run
        working = run.stage("prepare", prepare_working_copy, warehouse_path)
        run.stage("reference", load_reference, working)
        summary, validation_seconds = run.stage(
            "load", load_new_files, landing_path, working, run.run_id, len(plan.new_files)
        )
        run.add_load(summary)
        run.stage_seconds["validation (part of load)"] = round(validation_seconds, 3)
        try:
            run.dbt.update(run.stage("dbt build", build_models, working, not plan.models_current))
        except RcmError as exc:
            if isinstance(exc.__cause__, DbtBuildFailed):
                run.dbt.update(exc.__cause__.counts)
            raise
        dbt_docs = run.stage("dbt docs", generate_dbt_docs, working)
        run.finish("success")
        folded = run.stage("record run", log_run, working, run, plan.fingerprint)
        run.stage("publish", publish, working, warehouse_path)
    except RcmError:
        record_pending(warehouse_path, run)  # status failed, with the stage and the cause
        wh.release_working_copy(warehouse_path)
        raise
    clear_pending(warehouse_path, folded)
    # the data is published; what follows is written from it (a failure here fails the run
    # with its stage named, but the warehouse stays published)
    run.stage("data docs", refresh_data_docs, warehouse_path, wh.working_path(warehouse_path))
    run.reports = run.stage("report", write_reports, warehouse_path, dbt_docs)
    create_markdown_artifact(_summary_markdown(run), key="nightly-summary")
    return run


def _missing_landing(landing: Path) -> None:
    raise RcmError(f"landing folder not found: {landing}")
