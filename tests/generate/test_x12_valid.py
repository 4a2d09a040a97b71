"""Generated 835s pass pyx12's `x12valid` (005010X221A1), across all envelope variants.

x12valid prints a traceback while building its 999 reply even for valid files; the verdict
is its final `<file>: OK` / `<file>: Failure` line per input file (tests/x12valid.py).

x12valid parses about 0.2 MB/s, so the default suite validates the files that show every
variant of the generated set (every delimiter style, every envelope layout, every segment
shape and qualifier: tests/x12valid.py `covering_files`); every file is validated by the
`slow` test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
from pathlib import Path

import pytest
from x12valid import covering_files, invalid_files, variants, x12valid_path

from rcm.generate.remit import RemitConfig, simulate_remittances
from rcm.generate.x12 import DELIMITER_STYLES, ENVELOPE_LAYOUTS, write_835_files

_spec = importlib.util.spec_from_file_location(
    "remit_fixtures", Path(__file__).with_name("remit_fixtures.py")
)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)

pytestmark = pytest.mark.skipif(x12valid_path() is None, reason="pyx12 is not installed")


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> list[Path]:
    start = dt.date(2026, 3, 1)
    claims, lines = fixtures.build_claims(400, seed=21, start=start, days=30)
    # a window long enough for reversals and overturned denials; more of them than default
    config = RemitConfig(reversal_rate=0.1, overturn_rate=0.6, full_denial_rate=0.08)
    remits = simulate_remittances(fixtures.REFERENCE, claims, lines, 17, start, 90, config)
    assert remits.claims.height >= 300
    assert set(remits.claims["status_code"].to_list()) >= {"1", "4", "19", "22"}
    paths = write_835_files(remits, tmp_path_factory.mktemp("x12"))
    assert len(paths) >= len(DELIMITER_STYLES) * 3
    return paths


def test_every_variant_is_exercised(paths) -> None:
    styles, shapes = variants(paths)
    assert styles == {dataclasses.astuple(style) for style in DELIMITER_STYLES}
    # one ST per file, or several under each of the layouts (one ISA/GS; ISA/GS per ST;
    # one ISA with a GS per ST)
    assert ("one ISA", "one GS", "one ST") in shapes
    assert len({shape for shape in shapes if shape[2] == "several ST"}) == ENVELOPE_LAYOUTS


def test_a_file_of_every_variant_is_valid_835(paths, tmp_path) -> None:
    chosen, features = covering_files(paths)
    assert len(chosen) < len(paths)
    # the files validated show every style, layout and segment variant of the whole set
    assert variants(chosen) == variants(paths)
    assert {("CLP", "qualifier", status) for status in ("1", "4", "19", "22")} <= features
    failed, errors = invalid_files(chosen, tmp_path)
    assert not failed, f"{len(failed)} of {len(chosen)} invalid, e.g. {failed[:3]}; {errors[:5]}"


@pytest.mark.slow  # every file (~1 min on 2 cores); the variants above are in the default suite
def test_every_generated_file_is_valid_835(paths, tmp_path) -> None:
    failed, errors = invalid_files(paths, tmp_path)
    assert not failed, f"{len(failed)} of {len(paths)} invalid, e.g. {failed[:3]}; {errors[:5]}"
