"""The least a night can take with this stack, against issue #7's targets.

    python benchmarks/bench_nightly.py --size M --work W --keep --modes server   # first
    python benchmarks/bench_budget.py --work W                                   # then

bench_nightly.py measures the nights. This script measures, side by side in one run, the
parts of a night that no change to our own code removes without dropping what the product
requires (every load validated by Great Expectations before it commits, each dbt node a
Prefect task, the warehouse published whole from a working copy), and adds them up into a
lower bound for the nights at the size of the work folder's landing:

1. the **DuckDB floor** of the first night's files and of the last day's (bench_nightly.py's
   floor), at that size and on a tiny landing;
2. **validation over the whole first night**: each extract's suite once over all the
   first night's rows (raw.encounters, raw.charges, raw.era_claims with its siblings), GX
   in-database as the loader runs it, on a copy of the warehouse bench_nightly left (the
   last day's rows deleted first). The loader runs the suites per chunk of files, and
   every run has a fixed part, so one run per suite costs less than the night's validation;
3. the **fixed cost of a night**: bench_nightly's three nights (full, incremental, empty;
   a Prefect server running) on a tiny landing with the same days (`--tiny-encounters`,
   default 1,000): every cost per file, per dbt node (its Prefect task), per stage and per
   process, with next to no data;
4. the **working copy**: the first step of every night with new files copies the published
   warehouse (`open_working_copy`); timed on the warehouse bench_nightly left and on the tiny one.

Bounds (each leaves out the dbt models' and tests' work over the data, so it is low):

- full night >= tiny full night + (floor - tiny floor) + (validation over the whole night -
  the tiny full night's validation);
- incremental night >= tiny incremental night + (floor of the last day - its tiny floor) +
  (working copy - tiny working copy).

The results: a Markdown table printed and saved in benchmarks/out/budget_<time>.{md,json};
the full night it compares with is read from the newest benchmarks/out/nightly_*.json of the
work folder's run (or `--nightly-json`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_nightly as bn  # noqa: E402

VALIDATE_CODE = r"""
import json, sys, time
import duckdb
from rcm.validate import validate_batch

spec = json.loads(open(sys.argv[1]).read())
con = duckdb.connect(spec["db"])
# the first night only: the rows of later load runs go
first_run = con.execute(
    "select load_run_id from ops.load_manifest order by loaded_at limit 1").fetchone()[0]
tables = [r[0] for r in con.execute(
    "select table_name from duckdb_columns() where schema_name = 'raw' "
    "and column_name = '_load_id' and table_name in "
    "(select table_name from duckdb_tables() where schema_name = 'raw')").fetchall()]
deleted = 0
for table in tables:
    deleted += con.execute(
        f"delete from raw.{table} where not starts_with(_load_id, ? || ':')", [first_run]
    ).fetchone()[0]
con.execute("checkpoint")
seconds, rows = {}, {}
for extract, table in (
    ("encounters", "raw.encounters"), ("charges", "raw.charges"),
    ("remittances", "raw.era_claims"),
):
    t = time.perf_counter()
    outcome = validate_batch(con, table, extract, f"budget-{extract}",
                             update_data_docs=False, run_id="budget")
    seconds[extract] = time.perf_counter() - t
    rows[extract] = outcome.row_count
con.close()
print(json.dumps({"seconds": seconds, "rows": rows, "later_rows_deleted": deleted}))
"""

COPY_CODE = r"""
import json, sys, time
from pathlib import Path
from rcm.load import warehouse as wh

warehouse = Path(sys.argv[1])
t = time.perf_counter()
working = wh.open_working_copy(warehouse)
seconds = time.perf_counter() - t
wh.release_working_copy(warehouse)
print(json.dumps({"seconds": seconds, "bytes": warehouse.stat().st_size}))
"""


DBT_FLOW = r"""
import sys
from pathlib import Path
from flows.nightly import build_models

print(build_models(Path(sys.argv[1]), full_refresh=False))
"""


def dbt_builds(warehouse: Path, folder: Path, env: dict[str, str], pairs: int) -> dict:
    """An incremental night's `dbt build` (nothing new to read) on copies of `warehouse`:
    the plain dbt command line and `build_models` (PrefectDbtRunner in a flow, each node a
    Prefect task run), alternately; wall seconds of each."""
    from flows.nightly import DBT_PROJECT_DIR, INCREMENTAL_BUILD

    project = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    commands = {
        "plain dbt": [str(bn.VENV_BIN / "dbt"), "--quiet", *INCREMENTAL_BUILD, *project],
        "PrefectDbtRunner": [sys.executable, "-c", DBT_FLOW],
    }
    seconds: dict[str, list[float]] = {kind: [] for kind in commands}
    for _ in range(pairs):
        for kind, cmd in commands.items():
            copy = folder / "dbt_build.duckdb"
            shutil.copyfile(warehouse, copy)
            run_env = {**env, "RCM_WAREHOUSE": str(copy), "PYTHONPATH": str(bn.ROOT)}
            extra = [str(copy)] if cmd[0] == sys.executable else []
            result = bn.measure(cmd + extra, run_env, folder / "dbt_build.log", bn.RUN_TIMEOUT)
            copy.unlink(missing_ok=True)
            Path(f"{copy}.wal").unlink(missing_ok=True)
            if result.returncode:
                raise SystemExit(f"{kind} build failed: {result.stderr.strip()[-800:]}")
            seconds[kind].append(result.wall)
    return seconds


def _child(code: str, arg: str, log: Path) -> dict:
    cmd = [sys.executable, "-c", code, arg]
    result = bn.measure(cmd, os.environ.copy(), log, bn.RUN_TIMEOUT)
    if result.returncode:
        raise SystemExit(f"{log.stem} failed: {result.stderr.strip()[-800:]}")
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "wall": result.wall}


def validation_whole(warehouse: Path, folder: Path) -> dict:
    """Each suite once over the first night's rows, on a copy of `warehouse`."""
    copy = folder / "validate.duckdb"
    shutil.copyfile(warehouse, copy)
    spec = folder / "validate.json"
    spec.write_text(json.dumps({"db": str(copy)}))
    try:
        return _child(VALIDATE_CODE, str(spec), folder / "validate.log")
    finally:
        copy.unlink(missing_ok=True)
        shutil.rmtree(folder / "validate.duckdb_gx", ignore_errors=True)


def working_copy(warehouse: Path, log: Path) -> float:
    """Seconds of `open_working_copy` of `warehouse` (a child process; the copy dropped)."""
    return _child(COPY_CODE, str(warehouse), log)["seconds"]


def floors(source: Path, folder: Path) -> dict[str, float]:
    """Floor wall seconds of the first night's files and of the last day's."""
    first, last, _ = bn.split_last_day(source)
    folder.mkdir(parents=True, exist_ok=True)
    full, _ = bn.floor(first, folder)
    day, _ = bn.floor(last, folder)
    return {"first": full.wall, "last": day.wall}


def _newest_nightly(work: Path) -> Path | None:
    found = []
    for path in bn.OUT.glob("nightly_*.json"):
        try:
            info = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if work.name in info.get("command", ""):
            found.append(path)
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def _night(runs: list[dict], night: str) -> dict:
    match = [r for r in runs if r["night"] == night and r["mode"] == "server"]
    if not match:
        raise SystemExit(f"no server {night} night in the saved results")
    return match[0]


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def markdown(info: dict) -> str:
    b, m, t = info["bounds"], info["measured"], info["tiny_nights"]
    d = info["dbt_build"]
    f = info["floor"]
    lines = [
        f"`{info['command']}`, {info['started']}. Code: {info['code']}. "
        f"Tiny landing: {info['tiny_encounters']:,} encounters, same days.",
        "",
        "| part | at size | tiny | difference |",
        "|---|---|---|---|",
        f"| floor, first night's files | {f['size']['first']:.1f} s | {f['tiny']['first']:.1f} s "
        f"| {f['size']['first'] - f['tiny']['first']:.1f} s |",
        f"| floor, last day's files | {f['size']['last']:.2f} s | {f['tiny']['last']:.2f} s "
        f"| {f['size']['last'] - f['tiny']['last']:.2f} s |",
        f"| validation, one run per suite over the first night "
        f"({', '.join(f'{k} {v:.1f} s' for k, v in info['validation']['seconds'].items())}) "
        f"| {sum(info['validation']['seconds'].values()):.1f} s "
        f"| {t['full_validation']:.1f} s (the tiny full night's) "
        f"| {sum(info['validation']['seconds'].values()) - t['full_validation']:.1f} s |",
        f"| working copy | {info['copy']['size']:.2f} s | {info['copy']['tiny']:.2f} s "
        f"| {info['copy']['size'] - info['copy']['tiny']:.2f} s |",
        f"| full night (server) | {m['full']:.1f} s | {t['full']:.1f} s | |",
        f"| incremental night (server) | {m['incremental']:.1f} s | {t['incremental']:.1f} s | |",
        f"| empty night (server) | {m['empty']:.1f} s | {t['empty']:.1f} s | |",
        f"| the incremental night's `dbt build`, nothing new: plain dbt / PrefectDbtRunner "
        f"(alternately) | | {' / '.join(f'{x:.1f}' for x in d['plain dbt'])} s against "
        f"{' / '.join(f'{x:.1f}' for x in d['PrefectDbtRunner'])} s "
        f"| {_median(d['PrefectDbtRunner']) - _median(d['plain dbt']):.1f} s |",
        "",
        "| target (issue #7) | least possible with this stack | measured | |",
        "|---|---|---|---|",
        f"| full night <= 3x the floor ({3 * f['size']['first']:.1f} s) "
        f"| {b['full']:.1f} s = {b['full'] / f['size']['first']:.1f}x "
        f"| {m['full']:.1f} s = {m['full'] / f['size']['first']:.1f}x "
        f"| {'reachable' if b['full'] <= 3 * f['size']['first'] else '**out of reach**'} |",
        f"| incremental night <= 10% of the full night "
        f"| {b['incremental']:.1f} s = {b['incremental'] / m['full']:.0%} of the measured full "
        f"night, {b['incremental'] / b['full']:.0%} of the least full night "
        f"| {m['incremental']:.1f} s = {m['incremental'] / m['full']:.0%} "
        f"| {'reachable' if b['incremental'] <= 0.1 * m['full'] else '**out of reach**'} |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="a kept bench_nightly folder")
    parser.add_argument("--tiny-encounters", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90, help="days of the landing (default 90)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--nightly-json", type=Path, help="bench_nightly's saved result")
    parser.add_argument(
        "--dbt-pairs", type=int, default=2, help="plain / Prefect dbt builds, alternately"
    )
    args = parser.parse_args()
    work = args.work
    source, warehouse = work / "generated", work / "server" / "warehouse.duckdb"
    if not (source / "truth.json").is_file() or not warehouse.is_file():
        raise SystemExit(f"{work} is not a kept bench_nightly.py work folder (server mode)")
    saved = args.nightly_json or _newest_nightly(work)
    if saved is None:
        raise SystemExit("no saved bench_nightly result for this work folder: --nightly-json")
    runs = json.loads(saved.read_text())["runs"]
    folder = work / "budget"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    started = dt.datetime.now(dt.UTC)
    info = {
        "command": "python benchmarks/bench_budget.py " + " ".join(sys.argv[1:]),
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "code": bn.code_version(),
        "machine": bn.machine(),
        "nightly_json": str(saved),
        "tiny_encounters": args.tiny_encounters,
    }
    print("tiny landing ...", flush=True)
    tiny_source = folder / "generated"
    bn.generate(tiny_source, args.tiny_encounters, args.days, args.seed, folder)
    print("floors ...", flush=True)
    info["floor"] = {
        "size": floors(source, folder / "floor"),
        "tiny": floors(tiny_source, folder / "floor"),
    }
    print(f"  {info['floor']}", flush=True)
    print("validation over the whole first night ...", flush=True)
    info["validation"] = validation_whole(warehouse, folder)
    print(f"  {info['validation']}", flush=True)
    print("tiny nights (server) ...", flush=True)
    first, last, _ = bn.split_last_day(tiny_source)
    home = folder / "prefect-server"
    server = bn.start_server(home)
    try:
        env = bn.prefect_env(home, server.api_url)
        tiny = bn.run_mode("server", tiny_source, first, last, folder / "tiny", env, server)
        if all(r.status == "success" for r in tiny):
            print("dbt build on the tiny warehouse: plain and through Prefect ...", flush=True)
            tiny_warehouse = folder / "tiny" / "server" / "warehouse.duckdb"
            info["dbt_build"] = dbt_builds(tiny_warehouse, folder, env, args.dbt_pairs)
            print(f"  {info['dbt_build']}", flush=True)
    finally:
        server.stop()
    if any(r.status != "success" for r in tiny):
        raise SystemExit("a tiny night failed: " + "; ".join(r.error for r in tiny if r.error))
    tiny_by = {r.night: r for r in tiny}
    info["tiny_nights"] = {
        "full": tiny_by["full"].wall,
        "incremental": tiny_by["incremental"].wall,
        "empty": tiny_by["empty"].wall,
        "full_validation": tiny_by["full"].stages.get("validation (part of load)", 0.0),
        "stages": {night: r.stages for night, r in tiny_by.items()},
    }
    print("working copies ...", flush=True)
    info["copy"] = {
        "size": working_copy(warehouse, folder / "copy.log"),
        "tiny": working_copy(tiny_warehouse, folder / "copy_tiny.log"),
    }
    info["measured"] = {n: _night(runs, n)["wall"] for n in ("full", "incremental", "empty")}
    fl, t = info["floor"], info["tiny_nights"]
    info["bounds"] = {
        "full": t["full"]
        + (fl["size"]["first"] - fl["tiny"]["first"])
        + (sum(info["validation"]["seconds"].values()) - t["full_validation"]),
        "incremental": t["incremental"]
        + (fl["size"]["last"] - fl["tiny"]["last"])
        + (info["copy"]["size"] - info["copy"]["tiny"]),
    }
    text = markdown(info)
    bn.OUT.mkdir(parents=True, exist_ok=True)
    stem = f"budget_{started:%Y%m%dT%H%M%S}"
    (bn.OUT / f"{stem}.md").write_text(text)
    (bn.OUT / f"{stem}.json").write_text(json.dumps(info, indent=2, default=str))
    print("\n" + text)
    print(f"written: {bn.OUT / stem}.md, .json")


if __name__ == "__main__":
    main()
