"""The nightly's prepare step: the working copy, with the next steps' imports made meanwhile.

Run in a fresh interpreter, so that nothing has imported Great Expectations or dbt before
the step does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys, threading
from pathlib import Path

import duckdb
from prefect.logging import disable_run_logger

from flows.nightly import STEP_MODULES, prepare_working_copy

heavy = ("great_expectations", "dbt.cli.main", *STEP_MODULES)
before = [name for name in heavy if name in sys.modules]
published = Path(sys.argv[1])
con = duckdb.connect(str(published))
con.execute("create table marts_probe as select 42 as answer")
con.close()
with disable_run_logger():
    working = prepare_working_copy.fn(published)
after = [name for name in heavy if name not in sys.modules]
(answer,) = duckdb.connect(str(working), read_only=True).execute(
    "select answer from marts_probe"
).fetchone()
threads = [t.name for t in threading.enumerate() if t.name == "import step modules"]
print(before, after, answer, threads)
"""


def test_prepare_copies_the_warehouse_and_imports_the_next_steps_modules(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "warehouse.duckdb")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # nothing heavy before the step; all of it after, from a thread joined before it ended
    assert proc.stdout.strip().splitlines()[-1] == "[] [] 42 []"
