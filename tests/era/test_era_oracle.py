"""pyx12 is the oracle: claims, service lines, adjustments, LQ remarks and PLB rows the rcm
parser produces must equal what pyx12 parses from the same files, field by field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from oracle import oracle_rows, rcm_rows
from synth835 import DELIM_SETS, make_835

from rcm.era import parse_835_files

FIXTURES = Path(__file__).parent / "fixtures"

VARIETY = [
    # seed, delimiter set, interchanges, groups, transactions, claims, version
    (1, 0, 1, 1, 1, 6, "5010"),
    (2, 1, 2, 2, 2, 4, "5010"),
    (3, 2, 1, 3, 2, 5, "5010"),
    (4, 3, 3, 1, 3, 3, "5010"),
    (5, 4, 2, 1, 2, 4, "5010"),
    (6, 0, 2, 2, 2, 4, "4010"),
    (7, 2, 1, 1, 3, 5, "4010"),
]


def assert_same(path: Path) -> dict[str, list[tuple]]:
    expected = oracle_rows(path)
    tables = parse_835_files([path])
    actual = rcm_rows(tables)
    for name, rows in expected.items():
        assert actual[name] == rows, f"{path.name}: {name} differs from pyx12"
    return expected


@pytest.mark.parametrize("seed,delims,isa,gs,st,claims,version", VARIETY)
def test_synthetic_variety_matches_pyx12(tmp_path, seed, delims, isa, gs, st, claims, version):
    path = tmp_path / f"synthetic_{seed}.835"
    path.write_text(make_835(seed, DELIM_SETS[delims], isa, gs, st, claims, version), newline="")
    expected = assert_same(path)
    assert len(expected["claims"]) == isa * gs * st * claims
    assert expected["adjustments"], "the variety must exercise CAS"


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.835")))
def test_hand_written_fixtures_match_pyx12(name):
    assert_same(FIXTURES / name)


def _project_generate():
    try:
        from rcm.generate import generate  # noqa: PLC0415
    except ImportError:
        return None
    return generate


@pytest.mark.skipif(_project_generate() is None, reason="rcm.generate.generate() not available yet")
def test_project_generator_output_matches_pyx12(tmp_path):
    generate = _project_generate()
    try:
        generate(
            tmp_path / "landing", encounters=120, seed=7, start_date=dt.date(2026, 1, 1), days=20
        )
    except Exception as exc:  # noqa: BLE001 - the generator is being written in parallel
        pytest.skip(f"rcm.generate.generate() does not run yet: {type(exc).__name__}: {exc}")
    files = sorted((tmp_path / "landing" / "remittances").glob("*.835"))
    assert files, "the generator wrote no 835 files"
    for path in files[:8]:
        assert_same(path)
    tables = parse_835_files(files)
    errors = tables.findings.filter(severity="error")
    assert errors.height == 0, errors.select("source_file", "reason").rows()[:5]
