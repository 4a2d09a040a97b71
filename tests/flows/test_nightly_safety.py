"""Flow-level safety: a SIGKILL anywhere changes nothing, readers never see an error.

Both tests drive the real command line (`python -m rcm nightly`) as subprocesses over a small
generated hospital split into two nights: night 1 is published first, then night 2's files
arrive in the same landing folder and the next run has real work (load, validate, dbt build).

1. The nightly run is killed with SIGKILL at three points chosen by watching its progress:
   (a) as soon as the working copy `<warehouse>.building` appears, (b) while new files are being
   loaded and validated, (c) during `dbt build`. Each attempt starts over the stale working copy
   (and its `.pid` file) the previous one left behind. After every kill the published file is
   byte for byte what it was; the final uninterrupted attempt publishes marts (and a load
   manifest) equal to those of a clean run of the same night into another warehouse.
2. A reader process opens the published file read-only and queries a mart every ~50 ms while
   the clean run loads, builds and publishes: no query fails, and afterwards it sees the night.

The subprocesses talk to the session's Prefect test server (one server start, not one per run)
with their own PREFECT_HOME. A run costs 1-2.5 minutes on a 2-core machine, so this module is
`slow`: run it with `pytest -m slow tests/flows/test_nightly_safety.py`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
MARTS = (
    "coding_accuracy",
    "denial_rates",
    "denials_by_reason",
    "documentation_gaps",
    "facility_cost_burden",
)
NIGHT_1_LAST_DAY = "2026-01-20"  # the generator's first remittances arrive on this day
RUN_TIMEOUT = 900  # seconds for one whole nightly run on a busy 2-core machine
READER_SQL = (
    "select (select count(*) from marts.denial_rates), "
    "(select sum(claims_remitted) from marts.denial_rates), "
    "(select count(*) from ops.run_log)"
)
DBT_START = re.compile(r"\b(\d+) of \d+ START\b")


# --- helpers --------------------------------------------------------------------------------


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _marts(warehouse: Path) -> dict[str, list[tuple]]:
    return {m: _query(warehouse, f"select * from marts.{m} order by all") for m in MARTS}


def _manifest(warehouse: Path) -> list[tuple]:
    """What the loads produced, independent of run ids and timings."""
    return _query(
        warehouse,
        "select file_path, status, rows_read, rows_loaded, rows_quarantined "
        "from ops.load_manifest order by all",
    )


def _file_day(path: Path) -> str:
    match = re.search(r"\d{4}-\d{2}-\d{2}", path.name)
    assert match, path
    return match.group(0)


def _copy_files(files: list[Path], source: Path, landing: Path) -> None:
    for path in files:
        target = landing / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


class Nightly:
    """`python -m rcm nightly` in its own session, its output collected line by line."""

    def __init__(self, landing: Path, wh: Path, env: dict[str, str], log: Path):
        self.lines: list[str] = []
        self.log = log
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rcm", "nightly", "--landing", landing, "--warehouse", wh],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: children go with it
        )
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self) -> None:
        with self.log.open("a") as out:
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                out.write(line)
                out.flush()

    def saw(self, *parts: str) -> bool:
        return any(all(p in line for p in parts) for line in list(self.lines))

    def tail(self, n: int = 15) -> str:
        return "\n".join(self.lines[-n:])

    def wait_for(self, what: str, predicate: Callable[[], bool], timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.proc.poll() is not None:
                self._pump.join(5)
                pytest.fail(
                    f"nightly ended (exit {self.proc.returncode}) before {what}:\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"nightly never reached {what} in {timeout:.0f} s:\n{self.tail()}")
            time.sleep(0.005)

    def kill(self) -> None:
        """SIGKILL the nightly process, then whatever it started (its process group)."""
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._pump.join(10)

    def finish(self, timeout: float = RUN_TIMEOUT) -> float:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"nightly did not finish in {timeout} s:\n{self.tail()}")
        self._pump.join(10)
        assert self.proc.returncode == 0, f"nightly failed:\n{self.tail(40)}"
        return time.monotonic() - self.started


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nights(tmp_path_factory, prefect_harness):
    """Night 1 published into `published.duckdb`; night 2's files then added to the landing."""
    import prefect.settings

    from rcm.generate import generate

    tmp = tmp_path_factory.mktemp("nightly_safety")
    env = dict(os.environ)
    for name in ("RCM_WAREHOUSE", "RCM_GX_DIR", "RCM_DEBUG", "PREFECT_PROFILE"):
        env.pop(name, None)
    env.update(
        PREFECT_API_URL=str(prefect.settings.PREFECT_API_URL.value()),
        PREFECT_HOME=str(tmp / "prefect_home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    generated = tmp / "generated"
    # 30 days: the generator fails below 16 days at this size (no remittance day yet)
    generate(generated, encounters=60, seed=3, days=30)
    files = sorted(
        p for sub in ("encounters", "charges", "remittances") for p in (generated / sub).iterdir()
    )
    night1 = [p for p in files if _file_day(p) <= NIGHT_1_LAST_DAY]
    night2 = [p for p in files if _file_day(p) > NIGHT_1_LAST_DAY]
    assert night1 and night2 and any(p.suffix == ".835" for p in night2)

    landing = tmp / "landing"
    _copy_files(night1, generated, landing)
    published = tmp / "night1" / "published.duckdb"
    published.parent.mkdir()
    Nightly(landing, published, env, tmp / "night1.log").finish()
    _copy_files(night2, generated, landing)  # the next night's extracts arrive
    return {"tmp": tmp, "env": env, "landing": landing, "published": published}


def _fresh_copy(published: Path, folder: Path) -> Path:
    """The night-1 published warehouse in a folder of its own (as if published there)."""
    folder.mkdir()
    warehouse = folder / "warehouse.duckdb"
    shutil.copy2(published, warehouse)
    return warehouse


READER = """
    import json, sys, time
    from pathlib import Path
    import duckdb

    warehouse, ready, stop, sql = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    queries, errors, seen = 0, [], []
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        stopping = stop.exists()  # one more query after the stop signal: the state after the run
        try:
            con = duckdb.connect(warehouse, read_only=True)
            try:
                row = [str(v) for v in con.execute(sql).fetchone()]
            finally:
                con.close()
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        else:
            queries += 1
            if not seen or seen[-1] != row:
                seen.append(row)
        if not ready.exists():
            ready.write_text("x")
        if stopping:
            break
        time.sleep(0.05)
    print(json.dumps({"queries": queries, "errors": errors[:10], "n_errors": len(errors),
                      "seen": seen}))
    """


@pytest.fixture(scope="module")
def clean_night2(nights):
    """Night 2 run once without interruption, with a reader querying the published file."""
    tmp, env = nights["tmp"], nights["env"]
    warehouse = _fresh_copy(nights["published"], tmp / "clean")
    before = [str(v) for v in _query(warehouse, READER_SQL)[0]]
    ready, stop = tmp / "reader_ready", tmp / "reader_stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(READER), warehouse, ready, stop, READER_SQL],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert reader.poll() is None, reader.communicate()
            assert time.monotonic() < deadline, "reader never started"
            time.sleep(0.02)
        seconds = Nightly(nights["landing"], warehouse, env, tmp / "clean.log").finish()
        stop.write_text("x")
        out, err = reader.communicate(timeout=120)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert reader.returncode == 0, err
    (tmp / "reader.json").write_text(out)  # queries, errors, states seen: for a failure's report
    after = [str(v) for v in _query(warehouse, READER_SQL)[0]]
    return {
        "warehouse": warehouse,
        "seconds": seconds,
        "reader": json.loads(out),
        "before": before,
        "after": after,
    }


# --- tests ----------------------------------------------------------------------------------


def test_reader_sees_no_error_while_the_nightly_run_publishes(clean_night2) -> None:
    reader = clean_night2["reader"]
    assert reader["n_errors"] == 0, reader["errors"]
    # a run takes a minute or more: a query every ~50 ms (plus open/close) is hundreds
    assert reader["queries"] >= 100, reader
    assert reader["seen"][0] == clean_night2["before"]
    assert reader["seen"][-1] == clean_night2["after"]  # after the run it sees the new night
    assert clean_night2["after"] != clean_night2["before"]
    assert int(clean_night2["after"][2]) == int(clean_night2["before"][2]) + 1  # one more run


def _in_dbt_build(run: Nightly, at_least: int = 20) -> bool:
    return any((m := DBT_START.search(line)) and int(m.group(1)) >= at_least for line in run.lines)


def test_sigkill_at_any_point_leaves_the_published_file_and_the_rerun_is_clean(
    nights, clean_night2
) -> None:
    tmp, env, landing = nights["tmp"], nights["env"], nights["landing"]
    warehouse = _fresh_copy(nights["published"], tmp / "killed")
    working = warehouse.with_name(warehouse.name + ".building")
    owner = working.with_name(working.name + ".pid")
    published_sha = _sha(warehouse)
    log = tmp / "killed.log"

    # (a) as soon as the working copy appears (copying / creating the load-layer schema)
    run = Nightly(landing, warehouse, env, log)
    run.wait_for("the working copy", working.exists)
    run.kill()
    timings = {"a": time.monotonic() - run.started}
    assert run.proc.returncode == -signal.SIGKILL
    assert _sha(warehouse) == published_sha, "(a) kill changed the published file"
    assert not Path(f"{warehouse}.wal").exists()

    # (b) while new files are loaded and validated: the stale copy of (a) must not block it
    run = Nightly(landing, warehouse, env, log)
    run.wait_for("the load stage", lambda: run.saw("reference code sets", "Finished in state"))
    time.sleep(2.0)  # a few files into the load (night 2 has ~25 files, ~0.5-1 s each)
    run.kill()
    timings["b"] = time.monotonic() - run.started
    assert run.saw("working copy ready"), "(b) run did not get past the stale working copy"
    assert not run.saw("load and validate new files", "Finished in state"), (
        "(b) the kill came after the load stage; the kill point was missed"
    )
    assert _sha(warehouse) == published_sha, "(b) kill changed the published file"
    assert working.exists() and owner.exists()  # the dead run's copy and pid file stay behind

    # (c) during dbt build, with models already (re)built in the working copy
    run = Nightly(landing, warehouse, env, log)
    run.wait_for("dbt build", lambda: _in_dbt_build(run))
    run.kill()
    timings["c"] = time.monotonic() - run.started
    assert run.saw("working copy ready"), "(c) run did not get past the stale working copy"
    assert not run.saw("published "), "(c) the kill came after publish; the kill point was missed"
    assert _sha(warehouse) == published_sha, "(c) kill changed the published file"

    # the next attempt starts again from the published file and completes
    timings["rerun"] = Nightly(landing, warehouse, env, log).finish()
    (tmp / "kills.json").write_text(json.dumps(timings))  # seconds from start to each kill
    assert not working.exists() and not owner.exists()
    assert _sha(warehouse) != published_sha
    reference = clean_night2["warehouse"]
    assert _manifest(warehouse) == _manifest(reference)
    got, want = _marts(warehouse), _marts(reference)
    for mart in MARTS:
        assert want[mart], f"marts.{mart} is empty in the clean run"
        assert got[mart] == want[mart], f"marts.{mart} differs from the clean run's"
    runs = _query(warehouse, "select status from ops.run_log order by started_at")
    assert runs == [("success",), ("success",)]  # the killed attempts never reached the log
