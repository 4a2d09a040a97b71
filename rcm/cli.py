"""The `rcm` command line: generate, era, nightly, report (see shared contracts, section 2)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from pathlib import Path

from rcm.errors import RcmError

DEFAULT_SAMPLE_LANDING = Path("data/sample/landing")
DEFAULT_WAREHOUSE = Path("data/warehouse.duckdb")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from exc


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rcm", description="Revenue-cycle analytics pipeline (encounters, charges, X12 835)."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = commands.add_parser("generate", help="write a synthetic landing folder and truth.json")
    gen.add_argument("--out", type=Path, required=True, help="landing folder to write")
    gen.add_argument("--encounters", type=_positive, default=1000, help="encounters (default 1000)")
    gen.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    gen.add_argument(
        "--start-date", type=_date, default=dt.date(2026, 1, 1), help="first day (2026-01-01)"
    )
    gen.add_argument("--days", type=_positive, default=90, help="days of extracts (default 90)")

    era = commands.add_parser("era", help="convert X12 835 files into remittance tables")
    era.add_argument("files", nargs="+", type=Path, metavar="FILE")
    era.add_argument("--out", type=Path, required=True, help="folder for one file per table")
    era.add_argument("--format", choices=("parquet", "csv"), default="parquet")

    nightly = commands.add_parser("nightly", help="load, validate, build, publish and report")
    nightly.add_argument("--landing", type=Path, default=DEFAULT_SAMPLE_LANDING)
    nightly.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE)

    report = commands.add_parser("report", help="finance report from the published warehouse")
    report.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE)
    report.add_argument("--out", type=Path, default=Path("data/reports"))
    report.add_argument("--month", help="YYYY-MM (default: latest month with data)")
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.command == "generate":
        from rcm.generate import generate

        summary = generate(
            args.out,
            encounters=args.encounters,
            seed=args.seed,
            start_date=args.start_date,
            days=args.days,
        )
        print(summary.describe())
        return 0
    if args.command == "era":
        # polars allocates through jemalloc, which hands freed pages back to the kernel almost
        # at once, so every 835 batch page-faults its memory in again (about a quarter of the
        # CPU of a run). Keep them 10 s for the next batch; set before polars loads, and an
        # explicit setting in the environment wins.
        os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:10000,muzzy_decay_ms:10000")
        import gc

        # what the imports create (polars' modules, classes, functions) lives until exit:
        # frozen, no collection scans it again, neither the first one after the imports
        # nor the one at exit (together about 30 ms of a run)
        collecting = gc.isenabled()
        gc.disable()
        from rcm.era.convert import convert_files

        gc.freeze()
        if collecting:
            gc.enable()
        result = convert_files(args.files, args.out, fmt=args.format)
        print(result.describe())
        return 0
    if args.command == "nightly":
        flow = _flow("nightly")
        _quiet_known_failures()
        run = flow(landing=str(args.landing), warehouse=str(args.warehouse))
        from rcm.ops.summary import summary_lines

        print("\n".join(summary_lines(run)))
        return 0
    if args.command == "report":
        from rcm.report import write_report

        paths = write_report(args.warehouse, args.out, month=args.month)
        print(paths.describe())
        return 0
    raise RcmError(f"'rcm {args.command}' is not available in this version yet")


def _quiet_known_failures() -> None:
    """Log records keep one line per exception, not a traceback (set RCM_DEBUG=1 for those).

    Stage failures already carry their one-line cause; Prefect's handlers (including the ones
    its temporary server sets up later) would otherwise print whole tracebacks.
    """
    if os.environ.get("RCM_DEBUG"):
        return

    def one_line(_formatter: logging.Formatter, exc_info) -> str:
        exc_type, exc, _ = exc_info
        return f"{exc_type.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"

    logging.Formatter.formatException = one_line  # type: ignore[method-assign]
    # a handler that fails while the interpreter shuts down (Prefect's API log worker after
    # a failed run) would print its own traceback; the run's outcome is already reported
    logging.raiseExceptions = False


def _flow(name: str):
    """A flow registered under the `rcm.flows` entry point group (flows/ is a plugin)."""
    from importlib.metadata import entry_points

    found = entry_points(group="rcm.flows", name=name)
    if not found:
        raise RcmError(f"flow {name!r} is not installed; reinstall the project (make setup)")
    return next(iter(found)).load()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # a run on a closed network: no phone-home from Prefect's temporary server
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # the temporary server's shutdown can report events it could not flush; that is its own
    # housekeeping, not the run's outcome (which the flow and the exit status give)
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    # the temporary server migrates its database on first start: on a busy machine that can
    # exceed Prefect's 20 s default, which would fail a night that has nothing wrong with it
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    try:
        return _run(args)
    except RcmError as exc:
        print(f"rcm {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rcm {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
