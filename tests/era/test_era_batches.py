"""Bounded batches: tiny batch sizes (pieces cut at ST inside an interchange, many batches)
give exactly the same tables and findings as one batch; the docs match the schema."""

from __future__ import annotations

from pathlib import Path

from synth835 import DELIM_SETS, make_835

from rcm.era import parse_835_files
from rcm.era.schema import render_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "era-tables.md"


def test_small_batches_equal_one_batch(tmp_path):
    paths = []
    for k in range(3):
        path = tmp_path / f"f{k}.835"
        path.write_text(
            make_835(20 + k, DELIM_SETS[k], interchanges=2, groups=2, transactions=3, claims=3),
            newline="",
        )
        paths.append(path)
    # a truncated file in the middle of the batch
    data = paths[1].read_bytes()
    (tmp_path / "cut.835").write_bytes(data[: len(data) // 2])
    paths.insert(2, tmp_path / "cut.835")
    whole = parse_835_files(paths)
    small = parse_835_files(paths, batch_bytes=1500)
    for name, frame in whole.items():
        other = small.table(name)
        if name == "findings":
            frame, other = frame.sort("source_file", "reason"), other.sort("source_file", "reason")
        assert frame.equals(other), name
    assert whole.findings.filter(source_file="cut.835").height >= 1
    assert whole.claims.height > 0


def test_docs_match_schema():
    assert render_markdown() in DOCS.read_text()
