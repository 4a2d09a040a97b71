"""Bad input becomes findings with one-line reasons; good files in the batch still convert;
`rcm era` exits 0 unless nothing could run, and never shows a traceback."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from synth835 import Delims, make_835

from rcm.cli import main
from rcm.era import convert_files, parse_835_files
from rcm.errors import RcmError


@pytest.fixture
def batch(tmp_path: Path) -> dict[str, Path]:
    good = make_835(11, Delims(), interchanges=1, groups=1, transactions=3, claims=4)
    files = {"good": good}
    cut = good.index("ST*835*0002")
    files["truncated"] = good[: cut + 400]
    lines = good.splitlines(keepends=True)
    se = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    n = int(lines[se].split("*")[1])
    files["wrong_se"] = "".join(
        lines[:se] + [lines[se].replace(f"SE*{n}*", f"SE*{n + 1}*")] + lines[se + 1 :]
    )
    bpr = next(i for i, line in enumerate(lines) if line.startswith("BPR*"))
    parts = lines[bpr].split("*")
    parts[2] = "999999.99"
    files["unbalanced_bpr"] = "".join(lines[:bpr] + ["*".join(parts)] + lines[bpr + 1 :])
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / f"{name}.835"
        paths[name].write_text(text)
    paths["random"] = tmp_path / "random.835"
    paths["random"].write_bytes(random.Random(3).randbytes(5000))
    paths["csv"] = tmp_path / "extract.835"
    paths["csv"].write_text("claim_id,amount\nC1,10.00\n")
    paths["empty"] = tmp_path / "empty.835"
    paths["empty"].write_bytes(b"")
    return paths


def reasons(findings: pl.DataFrame, path: Path) -> list[str]:
    return findings.filter(source_file=path.name).get_column("reason").to_list()


def test_each_bad_file_yields_a_one_line_finding(batch):
    t = parse_835_files(list(batch.values()))
    for name, path in batch.items():
        found = reasons(t.findings, path)
        if name == "good":
            assert found == []
        else:
            assert found, f"{name}: no finding"
        assert all("\n" not in r and r for r in found)
    assert any("no SE segment" in r for r in reasons(t.findings, batch["truncated"]))
    assert any("no IEA" in r for r in reasons(t.findings, batch["truncated"]))
    assert any("SE01=" in r for r in reasons(t.findings, batch["wrong_se"]))
    assert any("BPR02" in r for r in reasons(t.findings, batch["unbalanced_bpr"]))
    assert any("not an X12" in r for r in reasons(t.findings, batch["random"]))
    assert any("not an X12" in r for r in reasons(t.findings, batch["csv"]))
    assert reasons(t.findings, batch["empty"]) == ["empty file"]
    # good data still converts: the good file fully, the truncated one up to its cut
    per_file = t.payments.group_by("source_file").len()
    counts = dict(per_file.iter_rows())
    assert counts["good.835"] == 3
    assert counts["truncated.835"] == 1
    assert counts["wrong_se.835"] == 3
    unbalanced = t.payments.filter(source_file="unbalanced_bpr.835", is_balanced=False)
    assert unbalanced.height == 1
    wrong = t.payments.filter(source_file="wrong_se.835", is_envelope_valid=False)
    assert wrong.height == 1


def test_phi_never_appears_in_findings_or_summary(tmp_path):
    text = make_835(12, Delims(), transactions=1, claims=6)
    # unbalance every claim so claim-level findings are produced
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith("CLP*"):
            parts = line.split("*")
            parts[3] = "1.00"
            line = "*".join(parts)
        lines.append(line)
    path = tmp_path / "phi.835"
    path.write_text("".join(lines))
    result = convert_files([path], tmp_path / "out")
    assert result.findings.filter(check="balance_claim").height == 6
    shown = result.describe() + "\n".join(result.findings.get_column("reason").to_list())
    for secret in ("PCN", "LAST", "FIRST", "MEM0"):
        assert secret not in shown


def test_cli_converts_what_it_can_and_exits_zero(batch, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["era", *map(str, batch.values()), "--out", str(out)])
    assert code == 0
    stdout = capsys.readouterr().out
    assert "findings:" in stdout and "random.835" in stdout
    for table in (
        "payments",
        "claims",
        "claim_adjustments",
        "service_lines",
        "line_adjustments",
        "remarks",
        "provider_adjustments",
        "findings",
    ):
        assert (out / f"{table}.parquet").exists()
    findings = pl.read_parquet(out / "findings.parquet")
    assert findings.filter(source_file="random.835").height == 1
    claims = pl.read_parquet(out / "claims.parquet")
    assert claims.schema["paid_amount"] == pl.Decimal(18, 2)


def test_cli_csv_format(batch, tmp_path):
    out = tmp_path / "csv"
    assert main(["era", str(batch["good"]), "--out", str(out), "--format", "csv"]) == 0
    claims = pl.read_csv(out / "claims.csv", infer_schema=False)
    assert claims.height == 12
    assert pl.read_csv(out / "findings.csv").height == 0


def test_cli_unwritable_out_dir_is_one_line_error(batch, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["era", str(batch["good"]), "--out", str(blocker / "sub")])
    assert code != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not writable" in err and "Traceback" not in err


def test_cli_nothing_readable_fails_with_reason(tmp_path, capsys):
    code = main(["era", str(tmp_path / "missing.835"), "--out", str(tmp_path / "o")])
    assert code != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could be read" in err


def test_convert_rejects_unknown_format(tmp_path):
    with pytest.raises(RcmError):
        convert_files([tmp_path / "x.835"], tmp_path, fmt="xlsx")


@pytest.mark.integration
def test_cli_subprocess_no_traceback(batch, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rcm",
            "era",
            *map(str, batch.values()),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_non_835_transaction_and_missing_bpr(tmp_path):
    text = make_835(13, Delims(), transactions=3, claims=2)
    parts = text.split("ST*835*0002", 1)
    text = parts[0] + "ST*277*0002" + parts[1]
    lines = text.splitlines(keepends=True)
    third = next(i for i, line in enumerate(lines) if line.startswith("ST*835*0003"))
    assert lines[third + 1].startswith("BPR*")
    del lines[third + 1]
    se = next(i for i in range(third, len(lines)) if lines[i].startswith("SE*"))
    n = int(lines[se].split("*")[1])
    lines[se] = lines[se].replace(f"SE*{n}*", f"SE*{n - 1}*")
    path = tmp_path / "mixed.835"
    path.write_text("".join(lines))
    t = parse_835_files([path])
    assert t.payments.height == 2  # 0001 and 0003; the 277 is skipped
    checks = dict(t.findings.select("check", "severity").iter_rows())
    assert checks.get("transaction") in ("warning", "error")
    found = " | ".join(t.findings.get_column("reason").to_list())
    assert "not an 835" in found and "no BPR" in found


def test_interchanges_with_different_delimiters_in_one_file(tmp_path):
    from synth835 import DELIM_SETS

    text = "".join(
        make_835(30 + k, DELIM_SETS[k], transactions=1, claims=2, control_base=500 + k)
        for k in range(3)
    )
    path = tmp_path / "mixed_delims.835"
    path.write_text(text, newline="")
    t = parse_835_files([path])
    assert t.findings.filter(severity="error").height == 0
    assert t.payments.get_column("interchange_control_number").to_list() == [
        "000000500",
        "000000501",
        "000000502",
    ]


def test_group_and_interchange_trailer_mismatches(tmp_path):
    text = make_835(14, Delims(), groups=2, transactions=2, claims=1, control_base=700)
    text = text.replace("GE*2*7001~", "GE*3*7001~").replace("IEA*2*000000700~", "IEA*2*000000799~")
    path = tmp_path / "trailers.835"
    path.write_text(text)
    t = parse_835_files([path])
    found = t.findings.filter(check="envelope").get_column("reason").to_list()
    assert any("GE01=3" in r for r in found), found
    assert any("IEA02=000000799" in r for r in found), found
    assert t.claims.height == 4  # trailer problems are flagged, the data still converts


def test_cli_accepts_a_folder_of_835s(batch, tmp_path, capsys):
    folder = batch["good"].parent
    out = tmp_path / "from_folder"
    assert main(["era", str(folder), "--out", str(out), "--format", "csv"]) == 0
    stdout = capsys.readouterr().out
    assert "read 7 file(s)" in stdout  # every *.835 in the folder, good and bad
    for secret in ("PCN", "LAST", "FIRST", "MEM0"):
        assert secret not in stdout


def test_bytes_that_are_not_utf8_become_replacement_characters(tmp_path):
    text = make_835(15, Delims(), transactions=1, claims=2).encode()
    at = text.index(b"NM1*QC*1*") + len(b"NM1*QC*1*")
    bad = tmp_path / "latin1.835"
    bad.write_bytes(text[:at] + b"M\xfcLLER-" + text[at:])  # a Latin-1 u-umlaut
    good = tmp_path / "good.835"
    good.write_bytes(text)
    t = parse_835_files([bad, good])  # one batch: the good file is read as before
    assert t.findings.filter(severity="error").height == 0
    first = t.claims.unique("source_file", keep="first", maintain_order=True)
    names = dict(first.select("source_file", "patient_last_name").rows())
    assert names["latin1.835"] == "M\ufffdLLER-" + names["good.835"]
    assert t.claims.filter(source_file="good.835").height == 2
