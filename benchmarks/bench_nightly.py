"""Benchmark `rcm nightly`: full, incremental and empty nights against the DuckDB floor.

    python benchmarks/bench_nightly.py --size S                      # 10,000 encounters
    python benchmarks/bench_nightly.py --size M                      # 1,000,000 (~15M lines)
    python benchmarks/bench_nightly.py --encounters 300 --days 20    # a quick try
    python benchmarks/bench_nightly.py --size S --write-docs         # update docs/benchmarks.md

One run of the script:

1. `rcm generate` (seeded) writes a landing folder of `--days` days into a temporary folder.
   The last day's files (the day is in every file name) are held back: the first night loads
   the days before it, the incremental night adds that one day on top.
2. The **DuckDB floor**: one process that reads the first night's CSV files into tables with
   DuckDB alone (`create table ... as select * from read_csv([...])` per extract, typed with
   the contract's column types as the loader reads them) and the 835 files as text
   (`read_text`), into a fresh database file, then checkpoints.
3. For each mode, three `rcm nightly` runs into a fresh warehouse: **full** (the first
   night), **incremental** (the last day's files added), **empty** (run again, nothing new).
   Modes: **server** (a Prefect server started here beforehand, PREFECT_API_URL set, as the
   scheduled deployment has it) and **ephemeral** (no PREFECT_API_URL: the flow starts a
   temporary server; its database is migrated beforehand, as on any machine that ran once).

Every step is a child process of its own. Wall time; CPU = user + sys of the process and the
children it waited for; peak RSS two ways: the largest single process (exact, from `wait4`)
and the whole process tree (summed, sampled every 0.2 s from /proc). Time per stage comes from
the run's `ops.run_log` row (published warehouse, or `<warehouse>.pending-runs.jsonl` for a
run that published nothing); stages that run after publishing (not in the row) come from
the run's summary printed by `rcm nightly`. Results: a Markdown table and a JSON file in
benchmarks/out/, printed too; `--write-docs` replaces this size's part of the "Nightly run"
section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Nightly run"
VENV_BIN = Path(sys.executable).parent
SIZES = {"S": 10_000, "M": 1_000_000}
EXTRACTS = ("encounters", "charges", "remittances")
DAY = re.compile(r"(\d{4}-\d{2}-\d{2})")
STAGES_LINE = re.compile(r"^\s*stages\s+(.*)$", re.M)
STAGE_ITEM = re.compile(r"\s*(.+?) (\d+(?:\.\d+)?) s$")
# targets of issue #7
FLOOR_RATIO_MAX = 3.0
INCREMENTAL_SHARE_MAX = 0.10
EMPTY_MAX_SECONDS = {"server": 5.0, "ephemeral": 20.0}
RSS_MAX_GB = 6.0
RUN_TIMEOUT = 4 * 3600
SERVER_START_TIMEOUT = 180


# --- measuring one child process ------------------------------------------------------------


@dataclass
class Measured:
    wall: float
    cpu: float
    rss_max_mb: float  # largest single process (wait4: the process or a child it reaped)
    rss_tree_mb: float | None  # the whole tree, sampled (None where /proc is missing)
    returncode: int
    stdout: str
    stderr: str


def _children_of() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _tree_rss_bytes(root: int, page: int = os.sysconf("SC_PAGE_SIZE")) -> int:
    children, total, stack = _children_of(), 0, [root]
    while stack:
        pid = stack.pop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        stack.extend(children.get(pid, ()))
    return total


def measure(cmd: list[str], env: dict[str, str], log: Path, timeout: float) -> Measured:
    """Run `cmd`, wait for it with wait4 (its own rusage), sample its tree's RSS meanwhile."""
    with open(log, "w") as out, open(log.with_suffix(".err"), "w") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, cwd=ROOT)
        peak, done = [0], threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                with contextlib.suppress(OSError):
                    peak[0] = max(peak[0], _tree_rss_bytes(proc.pid))

        sampler = None
        if Path("/proc/self/statm").exists():
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
        done.set()
        if sampler:
            sampler.join()
    return Measured(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_max_mb=usage.ru_maxrss / 1024,
        rss_tree_mb=peak[0] / 1e6 if sampler else None,
        returncode=proc.returncode,
        stdout=log.read_text(),
        stderr=log.with_suffix(".err").read_text(),
    )


# --- data --------------------------------------------------------------------------------------


def generate(landing: Path, encounters: int, days: int, seed: int, work: Path) -> Measured:
    cmd = [str(VENV_BIN / "rcm"), "generate", "--out", str(landing)]
    cmd += ["--encounters", str(encounters), "--days", str(days), "--seed", str(seed)]
    result = measure(cmd, os.environ.copy(), work / "generate.log", RUN_TIMEOUT)
    if result.returncode:
        raise SystemExit(f"rcm generate failed: {result.stderr.strip()[-500:]}")
    return result


def split_last_day(landing: Path) -> tuple[list[Path], list[Path], str]:
    """(files of the days before the last, files of the last day, the last day)."""
    dated = []
    for extract in EXTRACTS:
        for path in sorted((landing / extract).glob("*")):
            match = DAY.search(path.name)
            if path.is_file() and match:
                dated.append((match.group(1), path))
    if not dated:
        raise SystemExit(f"no dated files under {landing}")
    last = max(day for day, _ in dated)
    before = [p for day, p in dated if day < last]
    return before, [p for day, p in dated if day == last], last


def place(files: list[Path], source: Path, landing: Path) -> None:
    """Hard links (a copy where links are impossible) of `files` into `landing`."""
    for path in files:
        target = landing / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)


# --- the DuckDB floor --------------------------------------------------------------------------

FLOOR_CODE = r"""
import json, sys, time
import duckdb
from rcm.load.extracts import CHARGES, ENCOUNTERS

spec = json.loads(open(sys.argv[1]).read())
con = duckdb.connect(spec["db"])
seconds, rows = {}, {}
for extract in (ENCOUNTERS, CHARGES):
    files = spec[extract.name]
    if not files:
        continue
    header = open(files[0], encoding="utf-8-sig").readline().strip().split(",")
    types = {c.name: c.read_type for c in extract.columns}
    columns = {name: types.get(name, "VARCHAR") for name in header}
    t = time.perf_counter()
    con.execute(
        f"create table {extract.name} as select * from read_csv(?, header = true, "
        "auto_detect = false, delim = ',', quote = '\"', escape = '\"', columns = ?)",
        [files, columns],
    )
    seconds[extract.name] = time.perf_counter() - t
    rows[extract.name] = con.execute(f"select count(*) from {extract.name}").fetchone()[0]
if spec["remittances"]:
    t = time.perf_counter()
    con.execute("create table remittances as select * from read_text(?)", [spec["remittances"]])
    seconds["remittances"] = time.perf_counter() - t
    rows["remittances"] = con.execute("select count(*) from remittances").fetchone()[0]
t = time.perf_counter()
con.execute("checkpoint")
con.close()
seconds["checkpoint"] = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "rows": rows}))
"""


def floor(files: list[Path], work: Path) -> tuple[Measured, dict]:
    folder = work / "floor"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    spec = {"db": str(folder / "floor.duckdb")}
    for extract in EXTRACTS:
        spec[extract] = [str(p) for p in files if p.parent.name == extract]
    (folder / "spec.json").write_text(json.dumps(spec))
    cmd = [sys.executable, "-c", FLOOR_CODE, str(folder / "spec.json")]
    result = measure(cmd, os.environ.copy(), folder / "floor.log", RUN_TIMEOUT)
    if result.returncode:
        raise SystemExit(f"floor failed: {result.stderr.strip()[-500:]}")
    detail = json.loads(result.stdout.strip().splitlines()[-1])
    shutil.rmtree(folder)  # the floor database is not needed again (and can be large)
    return result, detail


# --- Prefect -----------------------------------------------------------------------------------


def prefect_env(home: Path, api_url: str | None) -> dict[str, str]:
    """This environment without outside Prefect configuration, with its own PREFECT_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


@dataclass
class Server:
    proc: subprocess.Popen
    api_url: str
    home: Path

    def cpu_seconds(self) -> float | None:
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def start_server(home: Path) -> Server:
    import httpx

    home.mkdir(parents=True, exist_ok=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api_url = f"http://127.0.0.1:{port}/api"
    cmd = [str(VENV_BIN / "prefect"), "server", "start", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--no-ui"]
    with open(home / "server.log", "wb") as log:
        proc = subprocess.Popen(
            cmd,
            env=prefect_env(home, None),
            cwd=home,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole
        )
    server = Server(proc, api_url, home)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"prefect server exited: {(home / 'server.log').read_text()[-500:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return server
        if time.monotonic() > deadline:
            server.stop()
            raise SystemExit(f"prefect server did not answer in {SERVER_START_TIMEOUT} s")
        time.sleep(0.5)


def migrate_ephemeral_database(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(VENV_BIN / "prefect"), "server", "database", "upgrade", "-y"],
        env=prefect_env(home, None),
        capture_output=True,
        check=True,
        timeout=600,
    )


# --- nightly runs ------------------------------------------------------------------------------


@dataclass
class NightResult:
    mode: str
    night: str
    files_new: int
    wall: float
    cpu: float
    rss_max_mb: float
    rss_tree_mb: float | None
    server_cpu: float | None
    status: str
    load1: float | None = None  # 1-minute load average when the run ended
    stages: dict[str, float] = field(default_factory=dict)
    stages_after_publish: dict[str, float] = field(default_factory=dict)
    error: str = ""


def _run_log_row(warehouse: Path, since: dt.datetime) -> dict | None:
    """The newest ops.run_log row (published file or the pending-runs file) started >= since."""
    import duckdb

    rows = []
    if warehouse.exists():
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            cur = con.execute("select * from ops.run_log")
            names = [d[0] for d in cur.description]
            rows += [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        except duckdb.Error:
            pass
        finally:
            con.close()
    pending = Path(f"{warehouse}.pending-runs.jsonl")
    if pending.exists():
        for line in pending.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                rows.append(json.loads(line))
    for row in rows:
        started = row.get("started_at")
        if isinstance(started, str):
            started = dt.datetime.fromisoformat(started)
        row["started_at"] = started
    rows = [r for r in rows if r["started_at"] and r["started_at"] >= since]
    return max(rows, key=lambda r: r["started_at"]) if rows else None


def _failure(text: str) -> str:
    """The CLI's one-line reason (`rcm nightly: ...`), else the last line of stderr."""
    lines = text.strip().splitlines()
    reasons = [line for line in lines if line.startswith("rcm nightly:")]
    return (reasons or lines or [""])[-1][:300]


def _printed_stages(stdout: str) -> dict[str, float]:
    match = STAGES_LINE.search(stdout)
    if not match:
        return {}
    stages = {}
    for item in match.group(1).split(", "):
        found = STAGE_ITEM.match(item)
        if found:
            stages[found.group(1)] = float(found.group(2))
    return stages


def nightly(
    mode: str,
    night: str,
    landing: Path,
    warehouse: Path,
    env: dict[str, str],
    files_new: int,
    server: Server | None,
) -> NightResult:
    since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
    cpu0 = server.cpu_seconds() if server else None
    cmd = [str(VENV_BIN / "rcm"), "nightly", "--landing", str(landing)]
    cmd += ["--warehouse", str(warehouse)]
    result = measure(cmd, env, warehouse.parent / f"{night}.log", RUN_TIMEOUT)
    cpu1 = server.cpu_seconds() if server else None
    row = _run_log_row(warehouse, since) or {}
    logged = row.get("stage_seconds") or {}
    if isinstance(logged, str):
        logged = json.loads(logged)
    printed = _printed_stages(result.stdout)
    status = "success" if result.returncode == 0 else f"failed (exit {result.returncode})"
    return NightResult(
        mode=mode,
        night=night,
        files_new=files_new,
        wall=result.wall,
        cpu=result.cpu,
        rss_max_mb=result.rss_max_mb,
        rss_tree_mb=result.rss_tree_mb,
        server_cpu=(cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None,
        status=status,
        load1=os.getloadavg()[0],
        stages={k: float(v) for k, v in logged.items()},
        stages_after_publish={k: v for k, v in printed.items() if k not in logged},
        error="" if result.returncode == 0 else _failure(result.stderr),
    )


def run_mode(
    mode: str,
    source: Path,
    first: list[Path],
    last: list[Path],
    work: Path,
    env: dict[str, str],
    server: Server | None,
) -> list[NightResult]:
    folder = work / mode
    shutil.rmtree(folder, ignore_errors=True)  # a fresh warehouse (a --reuse'd folder has one)
    landing, warehouse = folder / "landing", folder / "warehouse.duckdb"
    place(first, source, landing)
    results = []
    for night, files_new in (("full", len(first)), ("incremental", len(last)), ("empty", 0)):
        if night == "incremental":
            place(last, source, landing)
        result = nightly(mode, night, landing, warehouse, env, files_new, server)
        results.append(result)
        print(f"  {mode:<9} {night:<11} {_one_line(result)}", flush=True)
        if result.status != "success":
            break  # the next night would measure something else
    return results


def _one_line(r: NightResult) -> str:
    return (
        f"{r.wall:7.1f} s wall, {r.cpu:7.1f} s CPU, peak RSS {r.rss_max_mb:,.0f} MB"
        + (f" (tree {r.rss_tree_mb:,.0f} MB)" if r.rss_tree_mb is not None else "")
        + f", {r.status}"
        + (f": {r.error}" if r.error else "")
    )


# --- report ------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, AttributeError):
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": mem}


def versions() -> dict[str, str]:
    from importlib.metadata import version

    found = {"python": platform.python_version()}
    for name in ("duckdb", "polars", "prefect", "prefect-dbt", "dbt-core", "dbt-duckdb"):
        found[name] = version(name)
    found["great-expectations"] = version("great-expectations")
    return found


def code_version() -> str:
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return proc.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" + uncommitted changes" if git("status", "--porcelain", "-uno") else "")


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def targets(results: list[NightResult], floor_m: Measured) -> list[tuple[str, str, str]]:
    """(target, measured, met / not met) rows; the floor ratio is judged on wall time."""
    floor_wall, floor_cpu = floor_m.wall, floor_m.cpu
    by = {(r.mode, r.night): r for r in results if r.status == "success"}
    rows = []
    for mode in ("server", "ephemeral"):
        full = by.get((mode, "full"))
        if full:
            ratio = full.wall / floor_wall
            rows.append(
                (
                    f"full night <= {FLOOR_RATIO_MAX:g}x the floor ({mode})",
                    f"{ratio:.1f}x wall ({full.wall:.1f} s / {floor_wall:.1f} s); "
                    f"{full.cpu / floor_cpu:.1f}x CPU",
                    verdict(ratio <= FLOOR_RATIO_MAX),
                )
            )
    for mode in ("server", "ephemeral"):
        full, inc = by.get((mode, "full")), by.get((mode, "incremental"))
        if full and inc:
            share = inc.wall / full.wall
            cpu_share = inc.cpu / full.cpu
            rows.append(
                (
                    f"incremental night <= {INCREMENTAL_SHARE_MAX:.0%} of the full night ({mode})",
                    f"{share:.0%} wall ({inc.wall:.1f} s / {full.wall:.1f} s); {cpu_share:.0%} CPU",
                    verdict(share <= INCREMENTAL_SHARE_MAX),
                )
            )
    for mode, limit in EMPTY_MAX_SECONDS.items():
        empty = by.get((mode, "empty"))
        if empty:
            rows.append(
                (
                    f"empty night <= {limit:g} s ({mode})",
                    f"{empty.wall:.1f} s",
                    verdict(empty.wall <= limit),
                )
            )
    if results:
        peak = max(r.rss_tree_mb if r.rss_tree_mb is not None else r.rss_max_mb for r in results)
        rows.append(
            (
                f"peak RSS <= {RSS_MAX_GB:g} GB (any run, whole process tree)",
                f"{peak / 1000:.2f} GB",
                verdict(peak / 1000 <= RSS_MAX_GB),
            )
        )
    return rows


def _stages_text(r: NightResult) -> str:
    parts = [f"{k} {v:.1f}" for k, v in r.stages.items()]
    parts += [f"{k} {v:.1f}*" for k, v in r.stages_after_publish.items()]
    return ", ".join(parts) or "-"


def markdown(info: dict, results: list[NightResult], floor_m: Measured, floor_detail: dict) -> str:
    size = info["size"]
    fd = floor_detail["seconds"]
    lines = [
        f"### {size['label']}: {size['encounters']:,} encounters, {size['days']} days",
        "",
        f"`{info['command']}`, {info['started']}. Machine: {info['machine']['cpu']}, "
        f"{info['machine']['cores']} cores, {info['machine']['memory']}; load average "
        f"{info['load_before']} at the start, {info['load_after']} at the end. Versions: "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        + f". Code: {info['code']}.",
        "",
        f"Data (seed {size['seed']}): {info['data']['charge_lines']:,} charge lines, "
        f"{info['data']['files_first']} files ({info['data']['mb_first']:,.0f} MB) for the "
        f"first night, {info['data']['files_last']} files ({info['data']['mb_last']:,.1f} MB) "
        f"for the incremental night ({info['data']['last_day']}). "
        + (
            f"`rcm generate` took {info['generate']['wall']:.1f} s."
            if info.get("generate")
            else "Landing files reused from an earlier run's work folder (`--reuse`)."
        ),
        "",
        f"DuckDB floor (first night's files): **{floor_m.wall:.1f} s** wall, "
        f"{floor_m.cpu:.1f} s CPU, peak RSS {floor_m.rss_max_mb:,.0f} MB; "
        + ", ".join(f"{k} {v:.1f} s" for k, v in fd.items())
        + " ("
        + ", ".join(f"{k} {v:,} rows" for k, v in floor_detail["rows"].items())
        + ").",
        "",
        "| mode | night | new files | wall s | CPU s | x floor (wall / CPU) | peak RSS MB "
        "(largest process / tree) | server CPU s | load avg | stages from ops.run_log, s "
        "(* printed after publish) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        tree = f"{r.rss_tree_mb:,.0f}" if r.rss_tree_mb is not None else "-"
        server = f"{r.server_cpu:.1f}" if r.server_cpu is not None else "-"
        error = r.error.replace("|", "/")
        status = "" if r.status == "success" else f" ({r.status}: {error})"
        lines.append(
            f"| {r.mode} | {r.night}{status} | {r.files_new:,} | {r.wall:.1f} | {r.cpu:.1f} | "
            f"{r.wall / floor_m.wall:.0f} / {r.cpu / floor_m.cpu:.0f} | "
            f"{r.rss_max_mb:,.0f} / {tree} | {server} | "
            + (f"{r.load1:.1f}" if r.load1 is not None else "-")
            + f" | {_stages_text(r)} |"
        )
    lines += ["", "| target (issue #7) | measured | |", "|---|---|---|"]
    for name, value, ok in targets(results, floor_m):
        lines.append(f"| {name} | {value} | {ok} |")
    if size["label"] != "M":
        lines += [
            "",
            "The targets are set for size M; at this size they show where the fixed costs are.",
        ]
    return "\n".join(lines) + "\n"


def write_docs(text: str, label: str) -> None:
    """Replace (or add) this size's subsection of the 'Nightly run' section."""
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start = current.find(f"\n{SECTION}\n")
    if start < 0:
        current = current.rstrip("\n") + f"\n\n{SECTION}\n\n"
        start = current.find(f"\n{SECTION}\n")
    end = current.find("\n## ", start + 1)
    end = len(current) if end < 0 else end + 1
    section = current[start + 1 : end]
    heading = f"### {label}:"
    sub = section.find(f"\n{heading}")
    if sub < 0:
        section = section.rstrip("\n") + "\n\n" + text
    else:
        nxt = section.find("\n### ", sub + 1)
        section = section[: sub + 1] + text + ("\n" + section[nxt + 1 :] if nxt >= 0 else "")
    rest = current[end:]
    DOCS.write_text(
        current[: start + 1] + section.rstrip("\n") + "\n" + ("\n" + rest if rest else "")
    )


# --- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--size", choices=sorted(SIZES), help="S: 10,000 encounters; M: 1,000,000")
    group.add_argument("--encounters", type=int, help="any other number of encounters")
    parser.add_argument("--days", type=int, default=90, help="days of extracts (default 90)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--modes", default="server,ephemeral", help="server, ephemeral or both (default both)"
    )
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use the landing files a kept --work folder already has (same size and seed)",
    )
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument(
        "--render", type=Path, metavar="JSON", help="only print (and --write-docs) a saved result"
    )
    args = parser.parse_args()
    if args.render:
        render(args.render, args.write_docs)
        return
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - set(EMPTY_MAX_SECONDS):
        parser.error("--modes takes server, ephemeral or both")
    if args.days < 2:
        parser.error("--days must be at least 2 (the last day is the incremental night)")
    encounters = args.encounters or SIZES[args.size or "S"]
    label = args.size or "custom"

    work = args.work or Path(tempfile.mkdtemp(prefix="bench_nightly_"))
    work.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    info = {
        "command": "python benchmarks/bench_nightly.py " + " ".join(sys.argv[1:]),
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
        "code": code_version(),
        "load_before": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
        "size": {"label": label, "encounters": encounters, "days": args.days, "seed": args.seed},
        "modes": modes,
    }
    server = None
    try:
        source = work / "generated"
        print(f"landing: {encounters:,} encounters, {args.days} days in {source}", flush=True)
        if args.reuse and (source / "truth.json").is_file():
            print("  reusing the landing files already there", flush=True)
            info["generate"] = None
        else:
            gen = generate(source, encounters, args.days, args.seed, work)
            info["generate"] = {"wall": gen.wall, "cpu": gen.cpu, "rss_max_mb": gen.rss_max_mb}
        first, last, last_day = split_last_day(source)
        truth = json.loads((source / "truth.json").read_text())
        info["data"] = {
            "charge_lines": _charge_lines(truth, first + last),
            "files_first": len(first),
            "files_last": len(last),
            "mb_first": sum(p.stat().st_size for p in first) / 1e6,
            "mb_last": sum(p.stat().st_size for p in last) / 1e6,
            "last_day": last_day,
        }
        print("DuckDB floor ...", flush=True)
        floor_m, floor_detail = floor(first, work)
        print(f"  floor {floor_m.wall:.1f} s wall, {floor_m.cpu:.1f} s CPU", flush=True)

        results: list[NightResult] = []
        for mode in modes:
            home = work / f"prefect-{mode}"
            if mode == "server":
                server = start_server(home)
                env = prefect_env(home, server.api_url)
            else:
                migrate_ephemeral_database(home)
                env = prefect_env(home, None)
                # Prefect gives its temporary server 20 s to answer; a busy 2-core machine
                # can take longer, and a timeout would end the run before it starts
                env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
            results += run_mode(mode, source, first, last, work, env, server)
            if server:
                server.stop()
                server = None
        info["load_after"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        text = markdown(info, results, floor_m, floor_detail)
        OUT.mkdir(parents=True, exist_ok=True)
        stem = f"nightly_{args.size or encounters}_{started:%Y%m%dT%H%M%S}"
        (OUT / f"{stem}.md").write_text(text)
        payload = {
            **info,
            "floor": {**asdict(floor_m), "stdout": None, "stderr": None, **floor_detail},
            "runs": [asdict(r) for r in results],
            "targets": targets(results, floor_m),
        }
        (OUT / f"{stem}.json").write_text(json.dumps(payload, indent=2, default=str))
        print("\n" + text)
        print(f"written: {OUT / stem}.md, .json")
        if args.write_docs:
            write_docs(text, label)
            print(f"updated: {DOCS}")
    finally:
        if server:
            server.stop()
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def render(path: Path, docs: bool) -> None:
    """The Markdown of a result saved in benchmarks/out/*.json."""
    payload = json.loads(path.read_text())
    names = {f for f in Measured.__dataclass_fields__}
    floor_m = Measured(**{k: v for k, v in payload["floor"].items() if k in names})
    detail = {"seconds": payload["floor"]["seconds"], "rows": payload["floor"]["rows"]}
    results = [NightResult(**run) for run in payload["runs"]]
    text = markdown(payload, results, floor_m, detail)
    print(text)
    if docs:
        write_docs(text, payload["size"]["label"])
        print(f"updated: {DOCS}")


def _charge_lines(truth: dict, files: list[Path]) -> int:
    """Charge lines in the landing folder (truth.json when it says, else counted)."""
    value = truth.get("totals", {}).get("charge_lines")
    if isinstance(value, int):
        return value
    total = 0
    for path in files:
        if path.parent.name == "charges":
            with open(path, "rb") as f:
                total += sum(1 for _ in f) - 1
    return total


if __name__ == "__main__":
    main()
