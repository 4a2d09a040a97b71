"""`rcm report`: prints the two paths; bad input is one line on stderr and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest

from rcm.cli import main

pytestmark = pytest.mark.integration


def test_prints_the_two_paths(built_warehouse, tmp_path, capsys) -> None:
    assert main(["report", "--warehouse", str(built_warehouse.warehouse), "--out", str(tmp_path),
                 "--month", "2026-01"]) == 0  # fmt: skip
    out, err = capsys.readouterr()
    assert out.split() == [
        str(tmp_path / "revenue-cycle-report-2026-01.html"),
        str(tmp_path / "revenue-cycle-report-2026-01.xlsx"),
    ]
    assert all(Path(p).is_file() for p in out.split()) and not err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--month", "2026-1"], "--month must be YYYY-MM"),
        (["--month", "13/2026"], "--month must be YYYY-MM"),
        (["--month", "2031-06"], "no data for 2031-06"),
    ],
)
def test_bad_month(built_warehouse, tmp_path, capsys, arguments, message) -> None:
    code = main(["report", "--warehouse", str(built_warehouse.warehouse),
                 "--out", str(tmp_path / "out"), *arguments])  # fmt: skip
    out, err = capsys.readouterr()
    assert code != 0 and not out
    assert len(err.strip().splitlines()) == 1 and err.startswith("rcm report: ")
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_missing_warehouse(tmp_path, capsys) -> None:
    code = main(["report", "--warehouse", str(tmp_path / "missing.duckdb"),
                 "--out", str(tmp_path)])  # fmt: skip
    out, err = capsys.readouterr()
    assert code != 0 and not out
    assert err.strip() == (
        f"rcm report: warehouse not found: {tmp_path / 'missing.duckdb'} "
        "(build it with `rcm nightly`)"
    )


def test_not_a_built_warehouse(tmp_path, capsys) -> None:
    import duckdb

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    code = main(["report", "--warehouse", str(empty), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code != 0 and len(err.strip().splitlines()) == 1
    assert "not a built warehouse" in err
