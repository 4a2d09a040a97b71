"""pyx12's `x12valid` over 835 files, and the few files that show every variant of a set.

x12valid parses about 0.2 MB/s and prints a traceback while building its 999 reply even for
valid files: the verdict is its final `<file>: OK` / `<file>: Failure` line per input file.

`covering_files` picks, from a set of 835s, a subset that still shows every variant the whole
set has: files are taken greedily (most new features per byte) until every feature of any
file is in the subset. A file's features are its delimiters (element, component, repetition,
terminator, line break), its envelope shape (one ISA or one per ST, one GS or one per ST, one
ST or several), the two together, and per segment: its id with its number of elements, its
qualifier (CLP02 status, CAS01 group, NM101 entity, DTM01 date, ...), which elements are
empty, composite (and with how many components), repeated or negative.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

#: the element (1-based) that qualifies a segment (its first component for a composite)
QUALIFIER_ELEMENT = {
    "BPR": 1, "TRN": 1, "CUR": 1, "REF": 1, "DTM": 1, "N1": 1, "PER": 1, "RDM": 1, "CLP": 2,
    "CAS": 1, "NM1": 1, "AMT": 1, "QTY": 1, "SVC": 1, "LQ": 1, "PLB": 3,
}  # fmt: skip
#: per-file overhead of an x12valid run, in bytes of 835 text it could have parsed instead
FILE_OVERHEAD_BYTES = 20_000


def x12valid_path() -> str | None:
    local = Path(sys.executable).with_name("x12valid")
    return str(local) if local.exists() else shutil.which("x12valid")


def delimiter_style(data: bytes) -> tuple[str, str, str, str, str]:
    """(element, component, repetition, terminator, line break) of an 835's ISA."""
    head = data[:108].decode("ascii")
    line_break = "\r\n" if head[106:108] == "\r\n" else "\n" if head[106:107] == "\n" else ""
    return head[3], head[104], head[82], head[105], line_break


def _segments(data: bytes) -> tuple[tuple[str, str, str, str, str], list[list[str]]]:
    style = delimiter_style(data)
    element, _, _, terminator, _ = style
    text = data.decode("ascii")
    segments = [s.strip("\r\n") for s in text.split(terminator)]
    return style, [s.split(element) for s in segments if s]


def envelope_shape(segments: list[list[str]]) -> tuple[str, str, str]:
    count = {tag: sum(1 for s in segments if s[0] == tag) for tag in ("ISA", "GS", "ST")}
    return (
        "one ISA" if count["ISA"] == 1 else "ISA per ST",
        "one GS" if count["GS"] == 1 else "GS per ST",
        "one ST" if count["ST"] == 1 else "several ST",
    )


def features(path: Path) -> set[tuple]:
    style, segments = _segments(path.read_bytes())
    _, component, repetition, _, _ = style
    shape = envelope_shape(segments)
    found: set[tuple] = {("style", style), ("envelope", shape), ("style+envelope", style, shape)}
    for fields in segments:
        tag = fields[0]
        found.add((tag, "elements", len(fields)))
        if tag == "ISA":
            continue
        index = QUALIFIER_ELEMENT.get(tag)
        if index is not None and len(fields) > index:
            found.add((tag, "qualifier", fields[index].split(component)[0]))
        for number, value in enumerate(fields[1:], start=1):
            if value == "":
                found.add((tag, number, "empty"))
            if component in value:
                found.add((tag, number, "components", value.count(component) + 1))
            if repetition in value:
                found.add((tag, number, "repeated"))
            if value.startswith("-"):
                found.add((tag, number, "negative"))
    return found


def covering_files(paths: Iterable[Path]) -> tuple[list[Path], set[tuple]]:
    """A subset of `paths` with every feature of the whole set; and those features."""
    left = {path: features(path) for path in paths}
    size = {path: path.stat().st_size + FILE_OVERHEAD_BYTES for path in left}
    wanted = set().union(*left.values()) if left else set()
    missing, chosen = set(wanted), []
    while missing:
        best = max(left, key=lambda p: (len(left[p] & missing) / size[p], str(p)))
        chosen.append(best)
        missing -= left.pop(best)
    return sorted(chosen), wanted


def run_x12valid(paths: list[Path], cwd: Path, timeout: float = 600) -> tuple[dict[str, str], str]:
    """`{path as given: "OK" | "Failure"}` from two parallel x12valid runs, and their output.

    x12valid writes its reply beside each input: pass copies, not a landing folder.
    """
    executable = x12valid_path()
    assert executable, "pyx12 is a dev dependency: make setup installs it"
    # two runs of about equal bytes (x12valid is single-threaded; the machine has 2 cores)
    chunks: list[list[Path]] = [[], []]
    loads = [0, 0]
    for path in sorted(paths, key=lambda p: -p.stat().st_size):
        k = loads.index(min(loads))
        chunks[k].append(path)
        loads[k] += path.stat().st_size
    procs = [
        subprocess.Popen([executable, *map(str, chunk)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, cwd=cwd)
        for chunk in chunks if chunk
    ]  # fmt: skip
    output = "".join(p.communicate(timeout=timeout)[0] for p in procs)
    verdicts = dict(re.findall(r"^(\S+\.835): (OK|Failure)\s*$", output, flags=re.M))
    return verdicts, output


def invalid_files(paths: list[Path], workdir: Path) -> tuple[list[str], list[str]]:
    """Names of the `paths` x12valid does not pass (run on copies under `workdir`), and the
    ERROR lines it printed (bar those about its own 999 reply).

    Fails the test if x12valid gives no verdict for some file.
    """
    folder = workdir / "x12valid"
    folder.mkdir(parents=True)
    copies = [Path(shutil.copy(path, folder / path.name)) for path in paths]
    assert len(set(copies)) == len(paths), "two files of the same name"
    verdicts, output = run_x12valid(copies, folder)
    assert set(verdicts) == {str(p) for p in copies}, (
        f"x12valid gave no verdict for some files: {output[-2000:]}"
    )
    failed = sorted(Path(p).name for p, verdict in verdicts.items() if verdict != "OK")
    errors = [line for line in output.splitlines() if " ERROR " in line and "999" not in line]
    return failed, errors


def variants(paths: Iterable[Path]) -> tuple[set[tuple], set[tuple[str, str, str]]]:
    """The delimiter styles and the envelope shapes the 835 files `paths` have."""
    styles, shapes = set(), set()
    for path in paths:
        style, segments = _segments(path.read_bytes())
        styles.add(style)
        shapes.add(envelope_shape(segments))
    return styles, shapes
