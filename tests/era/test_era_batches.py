"""Bounded batches: tiny batch sizes (pieces cut at ST inside an interchange, many batches)
give exactly the same tables, findings and files as one batch; small inputs are one batch;
a failing writer is a one-line error; the docs match the schema."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from synth835 import DELIM_SETS, make_835

from rcm.era import convert_files, parse_835_files
from rcm.era.parse import ParseRun
from rcm.era.schema import polars_schema, render_markdown
from rcm.errors import RcmError

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


def _files(tmp_path: Path, n: int = 3) -> list[Path]:
    paths = []
    for k in range(n):
        path = tmp_path / f"g{k}.835"
        path.write_text(
            make_835(40 + k, DELIM_SETS[k], interchanges=2, groups=2, transactions=3, claims=4),
            newline="",
        )
        paths.append(path)
    return paths


def test_batch_plan_small_input_is_one_batch_large_is_bounded(tmp_path):
    paths = _files(tmp_path)
    total = sum(p.stat().st_size for p in paths)
    # up to 1.5 batch sizes: a single batch, whatever the files
    assert ParseRun(paths, batch_bytes=int(total / 1.4)).batch_count() == 1
    # larger: every batch at most the batch size (pieces are cut at ST boundaries)
    run = ParseRun(paths, batch_bytes=4096)
    sizes = [sum(piece.size for piece in batch) for batch in run._piece_batches()]
    assert len(sizes) > 3
    assert max(sizes) <= 4096
    assert sum(sizes) == sum(piece.size for s in run.sources for piece in s.pieces)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_streamed_files_equal_one_batch(tmp_path, fmt):
    """Many batches (row groups streamed through the parquet sinks, or csv appends) give
    the same files as one batch."""
    paths = _files(tmp_path)
    one = convert_files(paths, tmp_path / "one", fmt)
    many = convert_files(paths, tmp_path / "many", fmt, batch_bytes=2048)
    assert one.rows == many.rows and one.rows["claims"] > 0
    for table in one.paths:
        if fmt == "parquet":
            a, b = pl.read_parquet(one.paths[table]), pl.read_parquet(many.paths[table])
            assert a.schema == polars_schema(table) and a.equals(b), table
        else:
            assert one.paths[table].read_bytes() == many.paths[table].read_bytes(), table
    assert not list((tmp_path / "many").glob(".*partial"))


def test_a_failing_parquet_writer_is_a_one_line_error(tmp_path, monkeypatch):
    import rcm.era.convert as convert

    class Broken:
        def sink_parquet(self, *args, **kwargs):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(convert, "register_io_source", lambda *a, **k: Broken())
    out = tmp_path / "out"
    with pytest.raises(RcmError, match="could not write the tables") as caught:
        convert_files(_files(tmp_path, 1), out, batch_bytes=2048)
    assert "\n" not in str(caught.value) and "No space left" in str(caught.value)
    assert not list(out.glob("*.parquet")) and not list(out.glob(".*partial"))


def test_a_failing_single_batch_write_is_a_one_line_error(tmp_path, monkeypatch):
    """A run of one batch writes each table with `write_parquet` (no sinks); a failure
    there (polars reports a full disk as a ComputeError) is reported the same way."""
    import rcm.era.convert as convert

    def broken(*args, **kwargs):
        raise pl.exceptions.ComputeError(
            "parquet: File out of specification: underlying IO error: "
            "No space left on device (os error 28)\nmore detail"
        )

    monkeypatch.setattr(convert, "register_io_source", None)  # must not be used
    monkeypatch.setattr(pl.DataFrame, "write_parquet", broken)
    out = tmp_path / "out"
    with pytest.raises(RcmError, match="could not write the tables") as caught:
        convert_files(_files(tmp_path, 1), out)
    assert "\n" not in str(caught.value) and "No space left" in str(caught.value)
    assert not list(out.glob("*.parquet")) and not list(out.glob(".*partial"))
