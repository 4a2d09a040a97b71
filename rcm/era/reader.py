"""Reading 835 input: delimiters from each ISA, interchange boundaries, bounded pieces.

This is the only per-file Python work: it looks at the ISA headers (and, for very large
interchanges, at ST/GS starts) and cuts every file into pieces that start at an ISA or an
ST, so the vectorized stage (`segments.py`) can treat each piece independently and a batch
of pieces never exceeds a memory budget. Nothing here looks at individual claim segments.
"""

from __future__ import annotations

import hashlib
import mmap
from dataclasses import dataclass, field
from pathlib import Path

_WS = b" \t\r\n"
_ISA_SCAN = 256  # an ISA is 106 bytes; tolerate unpadded or over-long ones


@dataclass(frozen=True)
class Delimiters:
    element: str
    component: str
    segment: str
    repetition: str | None


@dataclass
class SourceFile:
    file_id: int
    path: Path
    name: str
    sha256: str | None = None
    size: int = 0
    pieces: list[Piece] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)

    @property
    def tag(self) -> str:
        return (self.sha256 or "0" * 16)[:16]


@dataclass
class Piece:
    """A byte range of one file starting at an ISA (or at an ST inside a huge interchange)."""

    file_id: int
    start: int
    end: int
    delimiters: Delimiters
    isa_control: str
    gs_control: str | None
    gs_version: str | None
    starts_interchange: bool

    @property
    def size(self) -> int:
        return self.end - self.start


class InputProblem(Exception):
    """The file (or the rest of it) cannot be read as X12; message is one PHI-free line."""


def parse_isa(buf: bytes) -> tuple[Delimiters, list[str]]:
    """Delimiters and elements of the ISA at the start of `buf` (raises InputProblem)."""
    head = bytes(buf[:_ISA_SCAN])
    if not head.startswith(b"ISA"):
        raise InputProblem("not an X12 interchange: the file does not start with an ISA segment")
    if len(head) < 4:
        raise InputProblem("truncated ISA segment")
    sep = head[3:4]
    if sep.isalnum() or sep in _WS:
        raise InputProblem("not an X12 interchange: no element separator after ISA")
    pos = 3
    for _ in range(15):
        pos = head.find(sep, pos + 1)
        if pos < 0:
            break
    if pos < 0 or len(head) < pos + 3:
        if len(buf) < _ISA_SCAN:
            raise InputProblem("truncated ISA segment: fewer than 16 elements")
        raise InputProblem("malformed ISA segment: fewer than 16 elements")
    component = head[pos + 1 : pos + 2]
    terminator = head[pos + 2 : pos + 3]
    if terminator in (sep, component) or terminator.isalnum() or component.isalnum():
        raise InputProblem("malformed ISA segment: ISA16 or the segment terminator is invalid")
    try:
        elements = head[: pos + 2].decode("ascii").split(sep.decode("ascii"))
        delims = [d.decode("ascii") for d in (sep, component, terminator)]
    except UnicodeDecodeError as exc:
        raise InputProblem("malformed ISA segment: not ASCII") from exc
    if len(elements) != 17:
        raise InputProblem("malformed ISA segment: expected 16 elements")
    rep = elements[11]
    repetition = (
        rep
        if elements[12] >= "00501" and len(rep) == 1 and not rep.isalnum() and rep not in delims
        else None
    )
    return Delimiters(delims[0], delims[1], delims[2], repetition), elements


def _is_segment_start(buf, pos: int, begin: int, term: bytes) -> bool:
    """Whether offset `pos` (> `begin`) starts a segment: a terminator before it, with only
    whitespace in between."""
    back = pos
    while back > begin and buf[back - 1 : back] in (b"\r", b"\n", b" ", b"\t"):
        back -= 1
    return back > begin and buf[back - 1 : back] == term


def _next_start(buf, pos: int, begin: int, end: int, tag: bytes, term: bytes) -> int:
    """The first offset in [pos, end) where a segment with id `tag` starts (segments are
    looked at from `begin` on), else -1."""
    while True:
        pos = buf.find(tag, pos, end)
        if pos < 0 or _is_segment_start(buf, pos, begin, term):
            return pos
        pos += len(tag)


def _last_start(buf, lo: int, hi: int, begin: int, tag: bytes, term: bytes) -> int:
    """The last offset in [lo, hi) where a segment with id `tag` starts, else -1."""
    while True:
        pos = buf.rfind(tag, lo, hi + len(tag) - 1)
        if pos < 0 or _is_segment_start(buf, pos, begin, term):
            return pos
        hi = pos


def _next_isa(buf, begin: int, end: int, term: bytes) -> int:
    """Offset of the next ISA segment (any element separator) after `begin`, else `end`."""
    pos = begin
    while True:
        pos = buf.find(b"ISA", pos, end)
        if pos < 0:
            return end
        back = pos
        while back > begin and buf[back - 1 : back] in (b"\r", b"\n", b" ", b"\t"):
            back -= 1
        after = buf[pos + 3 : pos + 4]
        if back > begin and buf[back - 1 : back] == term and after and not after.isalnum():
            return pos
        pos += 3


def _gs_values(buf, start: int, end: int, sep: bytes, term: bytes) -> tuple[str, str | None]:
    stop = buf.find(term, start, end)
    seg = bytes(buf[start : stop if stop >= 0 else end]).decode("ascii", "replace")
    parts = seg.split(sep.decode("ascii"))
    return (parts[6] if len(parts) > 6 else ""), (parts[8] if len(parts) > 8 else None)


def plan_file(source: SourceFile, piece_bytes: int) -> None:
    """Fill `source` with its sha256, size, pieces and input findings (never raises)."""
    try:
        with open(source.path, "rb") as handle:
            try:
                buf = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:  # empty file cannot be mapped
                buf = b""
            try:
                _plan(source, buf, piece_bytes)
            finally:
                if isinstance(buf, mmap.mmap):
                    buf.close()
    except IsADirectoryError:
        source.findings.append(_input("is a directory, not a file"))
    except FileNotFoundError:
        source.findings.append(_input("file not found"))
    except PermissionError:
        source.findings.append(_input("file not readable (permission denied)"))
    except OSError as exc:
        source.findings.append(_input(f"file could not be read ({exc.strerror or 'I/O error'})"))


def _input(reason: str, severity: str = "error", isa: str | None = None) -> dict:
    return {
        "check": "input",
        "severity": severity,
        "reason": reason,
        "interchange_control_number": isa,
    }


def _plan(source: SourceFile, buf, piece_bytes: int) -> None:
    source.size = len(buf)
    source.sha256 = hashlib.sha256(buf).hexdigest()
    if source.size == 0:
        source.findings.append(_input("empty file"))
        return
    start = 0
    probe = bytes(buf[:4096])
    if probe.startswith(b"\xef\xbb\xbf"):
        start = 3
    while start < len(probe) and probe[start : start + 1] in _WS:
        start += 1
    if b"\x00" in probe:
        source.findings.append(_input("not an X12 interchange: binary content"))
        return
    while start < source.size:
        try:
            delims, elements = parse_isa(buf[start : start + _ISA_SCAN])
        except InputProblem as exc:
            if source.pieces:
                reason = f"{exc} at byte {start}; the rest of the file was not converted"
            else:
                reason = str(exc)
            source.findings.append(_input(reason))
            return
        end = _next_isa(buf, start + 3, source.size, delims.segment.encode())
        isa_control = elements[13].strip()
        _cut_interchange(source, buf, start, end, delims, isa_control, piece_bytes)
        start = end


def _cut_interchange(
    source: SourceFile, buf, start: int, end: int, delims: Delimiters, isa: str, piece_bytes: int
) -> None:
    def piece(a: int, b: int, gs: str | None, ver: str | None, first: bool) -> Piece:
        return Piece(source.file_id, a, b, delims, isa, gs, ver, first)

    if end - start <= piece_bytes:
        source.pieces.append(piece(start, end, None, None, True))
        return
    sep, term = delims.element.encode(), delims.segment.encode()
    # cut at the first ST at least `piece_bytes` after the previous cut; each later piece
    # carries the GS in effect where it starts (the last GS before it, searched backwards
    # through the previous piece only), so the interchange is not scanned for every ST
    source.pieces.append(piece(start, start, None, None, True))
    first, gs, ver, lo = source.pieces[-1], "", None, start
    a = start
    while True:
        b = _next_start(buf, a + piece_bytes, start, end, b"ST" + sep, term)
        if b < 0:
            b = end
        if a == start:
            first.end = b
        else:
            source.pieces.append(piece(a, b, gs, ver, False))
        if b == end:
            return
        found = _last_start(buf, lo, b, start, b"GS" + sep, term)
        if found >= 0:
            gs, ver = _gs_values(buf, found, end, sep, term)
        a = lo = b


_CANONICAL = {"element": 0x1D, "component": 0x1F, "segment": 0x1E}


def canonical(data: bytes, delimiters: Delimiters) -> bytes:
    """Map the piece's delimiters to the control characters segments.py splits on.

    Control characters 0x1D-0x1F are not allowed in X12 data; if present they become `?`.
    """
    table = bytearray(range(256))
    for code in _CANONICAL.values():
        table[code] = ord("?")
    for name, code in _CANONICAL.items():
        table[ord(getattr(delimiters, name))] = code
    return data.translate(bytes(table))


def read_piece(path: Path, piece: Piece) -> bytes:
    """The piece's bytes with canonical delimiters (decoded as UTF-8 by `parse`, where bytes
    that are not UTF-8 become U+FFFD)."""
    with open(path, "rb") as handle:
        handle.seek(piece.start)
        data = handle.read(piece.size)
    return canonical(data, piece.delimiters)
