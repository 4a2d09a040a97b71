"""Working copy + atomic publish: readers never see a half-built state; a kill changes nothing."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rcm.errors import RcmError
from rcm.load import (
    cleanup_stale_working_copies,
    open_working_copy,
    publish,
    release_working_copy,
    working_path,
)

from .helpers import CHG_COLUMNS, ENC_COLUMNS, charge, csv_text, encounter, query, run_load, write

ROOT = Path(__file__).resolve().parents[2]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _landing(landing: Path, files: int = 6, rows: int = 50) -> None:
    for day in range(files):
        write(
            landing,
            "charges",
            f"charges_2026-01-{day + 1:02d}.csv",
            csv_text([charge(f"C{day}_{i}") for i in range(rows)], CHG_COLUMNS),
        )
        write(
            landing,
            "encounters",
            f"encounters_2026-01-{day + 1:02d}.csv",
            csv_text([encounter(f"E{day}_{i}") for i in range(rows)], ENC_COLUMNS),
        )


def _state(warehouse: Path) -> list[tuple]:
    """What a load produced, independent of run ids and timings."""
    return query(
        warehouse,
        "select file_name, status, rows_read, rows_loaded, rows_quarantined "
        "from ops.load_manifest order by file_name",
    ) + query(
        warehouse,
        "select (select count(*) from raw.charges), (select count(*) from raw.encounters), "
        "(select count(*) from quarantine.charges)",
    )


def _python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_crash_before_publish_leaves_the_published_file_identical(landing: Path, warehouse):
    _landing(landing, files=2)
    run_load(landing, warehouse, "night1")
    before = _sha(warehouse)
    write(landing, "charges", "late.csv", csv_text([charge("LATE1")], CHG_COLUMNS))
    from rcm.load import load_landing

    working = open_working_copy(warehouse)
    load_landing(landing, working, "night2")  # ... and the process "dies" before publish
    assert _sha(warehouse) == before
    assert working.exists()
    # the next run starts from the published file again and completes
    run_load(landing, warehouse, "night2-retry")
    assert not working.exists()
    assert query(warehouse, "select count(*) from raw.charges where charge_id = 'LATE1'") == [(1,)]
    assert query(warehouse, "select count(*) from ops.load_manifest") == [(5,)]


def test_sigkill_mid_load_then_rerun_gives_the_clean_result(tmp_path: Path, landing: Path):
    _landing(landing, files=6)
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    reference = tmp_path / "ref" / "warehouse.duckdb"
    # published state before the night: first two days already loaded
    early = tmp_path / "early"
    for path in sorted((landing / "charges").iterdir())[:2]:
        write(early, "charges", path.name, path.read_bytes())
    run_load(early, warehouse, "night0")
    run_load(early, reference, "night0")
    before = _sha(warehouse)
    marker = tmp_path / "in_load"
    proc = _python(
        """
        import sys, time
        from pathlib import Path
        from rcm.load import load_landing, open_working_copy, publish

        import rcm.load.loader as loader

        landing, warehouse, marker = map(Path, sys.argv[1:4])
        # chunks of two files: the encounters' three chunks commit, then the kill
        loader.CHUNK_BYTES = 2 * max(p.stat().st_size for p in landing.rglob("*.csv"))
        calls = []

        def validate_batch(con, table, extract, load_id):
            calls.append(table)
            if len(calls) == 4:  # mid-run: some files committed in the working copy
                marker.write_text("x")
                time.sleep(60)
            return True

        working = open_working_copy(warehouse)
        load_landing(landing, working, "night1", validate_batch=validate_batch)
        publish(working, warehouse)
        """,
        str(landing),
        str(warehouse),
        str(marker),
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "loader never reached the kill point"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert _sha(warehouse) == before  # the published file is exactly as it was
    assert working_path(warehouse).exists()  # the dead run's working copy is left behind
    run_load(landing, warehouse, "night1-retry")  # cleans it up, starts from published
    run_load(landing, reference, "night1")  # the same night without a crash
    assert _state(warehouse) == _state(reference)
    assert not working_path(warehouse).exists()


def test_reader_sees_no_error_while_a_load_publishes(landing: Path, warehouse: Path, tmp_path):
    _landing(landing, files=2)
    run_load(landing, warehouse, "night0")
    stop = tmp_path / "stop"
    ready = tmp_path / "ready"
    reader = _python(
        """
        import sys, time
        from pathlib import Path
        import duckdb

        warehouse, ready, stop = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
        con = duckdb.connect(warehouse, read_only=True)  # held open across the publish
        counts = set()
        ready.write_text("x")
        deadline = time.monotonic() + 60
        while not stop.exists() and time.monotonic() < deadline:
            counts.add(con.execute("select count(*) from raw.charges").fetchone()[0])
            time.sleep(0.005)
        counts.add(con.execute("select count(*) from raw.charges").fetchone()[0])
        con.close()
        # a new reader after the publish sees the new state
        con = duckdb.connect(warehouse, read_only=True)
        print(sorted(counts), con.execute("select count(*) from raw.charges").fetchone()[0])
        """,
        str(warehouse),
        str(ready),
        str(stop),
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert reader.poll() is None, reader.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        _landing(landing, files=4)  # two more days arrive
        run_load(landing, warehouse, "night1")  # copy, load and publish under the reader
        stop.write_text("x")
        out, err = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, err
    assert out.split("\n")[0] == "[100] 200"  # the open reader kept its snapshot throughout


def test_working_copy_owned_by_a_live_process_is_refused(warehouse: Path):
    working = open_working_copy(warehouse)
    owner = working.with_name(working.name + ".pid")
    assert owner.read_text().strip() == str(os.getpid())
    release_working_copy(warehouse)  # as a run that ended without publishing
    assert not working.exists() and not owner.exists()
    # another process takes the copy and holds its lock, as a running load does
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(warehouse)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(RcmError, match=rf"another load \(pid {holder.pid}\)"):
            open_working_copy(warehouse)
        assert working.exists()  # the live run's copy is left alone
    finally:
        holder.kill()
        holder.wait()
    # the kernel dropped the dead holder's lock: its copy is stale and removed
    assert cleanup_stale_working_copies(warehouse) == [working]
    assert not working.exists()
    release_working_copy(warehouse)


def test_a_recycled_pid_in_the_owner_file_does_not_block_the_next_run(warehouse: Path):
    """The pid file names a live, unrelated process (pid reuse): no lock held, so it is stale."""
    working = open_working_copy(warehouse)
    owner = working.with_name(working.name + ".pid")
    release_working_copy(warehouse)
    working.write_bytes(b"left by a run that was killed")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        owner.write_text(str(sleeper.pid))  # alive, but not a load
        assert open_working_copy(warehouse) == working
        assert owner.read_text().strip() == str(os.getpid())
    finally:
        sleeper.kill()
        sleeper.wait()
        release_working_copy(warehouse)


HOLD_LOCK = """
import sys, time
from pathlib import Path
from rcm.load import open_working_copy
open_working_copy(Path(sys.argv[1]))
print("holding", flush=True)
time.sleep(60)
"""


def test_publish_is_the_only_way_onto_the_published_path(warehouse: Path, landing: Path):
    _landing(landing, files=1, rows=3)
    working = open_working_copy(warehouse)
    assert working.name == "warehouse.duckdb.building"
    assert not warehouse.exists()  # first run: nothing published until publish()
    from rcm.load import load_landing

    load_landing(landing, working, "run1")
    publish(working, warehouse)
    assert warehouse.exists() and not working.exists()
    assert not Path(str(warehouse) + ".wal").exists()
    assert query(warehouse, "select count(*) from raw.charges") == [(3,)]
