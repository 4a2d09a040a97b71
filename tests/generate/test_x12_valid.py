"""Every generated 835 passes pyx12's `x12valid` (005010X221A1), across all envelope variants.

x12valid prints a traceback while building its 999 reply even for valid files; the verdict
is its final `<file>: OK` / `<file>: Failure` line per input file.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rcm.generate.remit import RemitConfig, simulate_remittances
from rcm.generate.x12 import DELIMITER_STYLES, write_835_files

_spec = importlib.util.spec_from_file_location(
    "remit_fixtures", Path(__file__).with_name("remit_fixtures.py")
)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)


def _x12valid() -> str | None:
    local = Path(sys.executable).with_name("x12valid")
    return str(local) if local.exists() else shutil.which("x12valid")


@pytest.mark.skipif(_x12valid() is None, reason="pyx12 (x12valid) is not installed")
def test_every_generated_file_is_valid_835(tmp_path):
    start = dt.date(2026, 3, 1)
    claims, lines = fixtures.build_claims(400, seed=21, start=start, days=30)
    # a window long enough for reversals and overturned denials; more of them than default
    config = RemitConfig(reversal_rate=0.1, overturn_rate=0.6, full_denial_rate=0.08)
    remits = simulate_remittances(fixtures.REFERENCE, claims, lines, 17, start, 90, config)
    assert remits.claims.height >= 300
    assert set(remits.claims["status_code"].to_list()) >= {"1", "4", "19", "22"}
    paths = write_835_files(remits, tmp_path)
    assert len(paths) >= len(DELIMITER_STYLES) * 3

    heads = {p.read_bytes()[:107] for p in paths}
    styles = {(h[3:4], h[104:105], h[105:106], h[106:107] in b"\r\n") for h in heads}
    assert len(styles) == len(DELIMITER_STYLES)  # every delimiter variant is exercised

    # two parallel x12valid runs (it is single-threaded) over all files
    half = len(paths) // 2
    procs = [
        subprocess.Popen(
            [_x12valid(), *map(str, chunk)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp_path,
        )
        for chunk in (paths[:half], paths[half:])
    ]
    output = "".join(p.communicate(timeout=300)[0] for p in procs)
    verdicts = dict(re.findall(r"^(\S+\.835): (OK|Failure)\s*$", output, flags=re.M))
    errors = [line for line in output.splitlines() if " ERROR " in line and "999" not in line]
    assert set(verdicts) == {str(p) for p in paths}, "x12valid gave no verdict for some files"
    failed = sorted(p for p, v in verdicts.items() if v != "OK")
    assert not failed, f"{len(failed)} invalid files, e.g. {failed[:3]}; {errors[:5]}"
