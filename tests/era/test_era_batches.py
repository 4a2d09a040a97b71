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


def _tables_equal(a, b) -> None:
    for name, frame in a.items():
        assert frame.equals(b.table(name)), name


@pytest.mark.parametrize("batch_bytes", [1500, 1 << 24])
def test_two_workers_give_the_same_tables_as_one(tmp_path, monkeypatch, batch_bytes):
    """Batches parsed two at a time (many small batches, or one input split in two) give
    the same tables and findings, in the same order, as one worker."""
    import rcm.era.parse as parse

    monkeypatch.setattr(parse, "SPLIT_BYTES", 1)
    paths = _files(tmp_path, 4)
    data = paths[1].read_bytes()
    (tmp_path / "cut.835").write_bytes(data[: len(data) // 2])
    paths.insert(2, tmp_path / "cut.835")
    assert ParseRun(paths, batch_bytes, workers=2).batch_count() >= 2
    one = parse_835_files(paths, batch_bytes=batch_bytes, workers=1)
    two = parse_835_files(paths, batch_bytes=batch_bytes, workers=2)
    _tables_equal(one, two)
    assert one.findings.filter(source_file="cut.835").height >= 1
    assert one.claims.height > 0


def test_an_input_of_one_batch_is_split_between_the_workers_from_split_bytes(tmp_path, monkeypatch):
    import rcm.era.parse as parse

    paths = _files(tmp_path)
    total = sum(p.stat().st_size for p in paths)
    assert total < parse.SPLIT_BYTES
    assert ParseRun(paths, workers=2).batch_count() == 1  # small: one batch still
    monkeypatch.setattr(parse, "SPLIT_BYTES", total)
    run = ParseRun(paths, workers=2)
    sizes = [sum(piece.size for piece in batch) for batch in run._piece_batches()]
    # two batches of about half each (pieces are whole interchanges here, about 14 KB)
    assert len(sizes) == 2 and sum(sizes) == total
    assert max(sizes) - min(sizes) <= max(p.size for s in run.sources for p in s.pieces)
    assert ParseRun(paths, workers=1).batch_count() == 1
    assert not run.streams()


@pytest.mark.parametrize("every_piece", [False, True])
@pytest.mark.parametrize("workers", [1, 2])
def test_a_parser_bug_in_one_file_leaves_the_others_converted(
    tmp_path, monkeypatch, workers, every_piece
):
    """A batch whose parse raises is parsed again file by file: the file that fails alone
    gets one finding and none of its rows; the other files convert as if it were not
    there. With two workers the failing file's next piece is already in the next batch
    when the failure is known; that batch is parsed again without it, whether it parsed
    (the bug is in the file's first piece) or failed too (in every piece: then the other
    file of that batch must not be failed for it)."""
    paths = _files(tmp_path, 3)
    bad = tmp_path / "bad.835"
    bad.write_text(
        make_835(77, DELIM_SETS[1], interchanges=1, groups=1, transactions=6, claims=3),
        newline="",
    )
    paths.insert(1, bad)
    original = ParseRun._process
    later_pieces_parsed = []

    def process(self, rows, texts):
        bad_id = next(s.file_id for s in self.sources if s.name == "bad.835")
        if any(p.file_id == bad_id and (every_piece or offset == 0) for p, offset in rows):
            raise ValueError("a parser bug")
        if any(p.file_id == bad_id for p, _ in rows):
            later_pieces_parsed.append(True)
        return original(self, rows, texts)

    monkeypatch.setattr(ParseRun, "_process", process)
    # batches of up to 10 kB: the bad file's first pieces share a batch with the file
    # before it, its last piece one with the file after it
    batch_bytes = 10_000
    run = ParseRun(paths, batch_bytes, workers)
    first = run.sources[1].pieces[0]
    plan = list(run._piece_batches())
    later = [b for b in plan if first not in b and any(p.file_id == 1 for p in b)]
    assert later and all(len({p.file_id for p in b}) > 1 for b in later)
    got = parse_835_files(paths, batch_bytes=batch_bytes, workers=workers)
    monkeypatch.setattr(ParseRun, "_process", original)
    others = parse_835_files([p for p in paths if p != bad], batch_bytes=batch_bytes)
    errors = got.findings.filter(source_file="bad.835")
    assert errors.get_column("reason").to_list() == [
        "internal parser error (ValueError); file not converted"
    ]
    for name, frame in others.items():
        if name == "findings":
            frame, mine = frame, got.findings.filter(pl.col("source_file") != "bad.835")
        else:
            mine = got.table(name)
        assert frame.equals(mine), name
    assert others.claims.height > 0
    # one worker never reads the failed file again; two parse its next piece meanwhile
    assert bool(later_pieces_parsed) == (workers == 2 and not every_piece)
