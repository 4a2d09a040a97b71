"""Find the landing files of each extract and fingerprint them (sha256, bytes, line breaks)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

# extract folder -> file suffixes it may hold (lower case)
SUFFIXES: dict[str, tuple[str, ...]] = {
    "encounters": (".csv", ".parquet"),
    "charges": (".csv", ".parquet"),
    "remittances": (".835", ".edi", ".txt"),
}
# names that are still being written by the sender (or are not data at all)
_IN_FLIGHT = (".tmp", ".part", ".partial", ".crdownload", ".filepart")
_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class LandingFile:
    extract: str
    path: Path
    relative_path: str  # under the landing folder, '/'-separated, e.g. 'charges/charges_1.csv'
    bytes: int
    mtime_ns: int
    sha256: str | None = None
    newlines: int | None = None  # count of b'\n', for exact line numbers (see readers)

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def format(self) -> str:
        suffix = self.path.suffix.lower()
        if suffix == ".csv":
            return "csv"
        if suffix == ".parquet":
            return "parquet"
        if self.extract == "remittances" and suffix in SUFFIXES["remittances"]:
            return "x12"
        return "unsupported"


def find_landing_files(
    landing: Path, extracts: tuple[str, ...] = tuple(SUFFIXES)
) -> list[LandingFile]:
    """Every data file under <landing>/<extract>/, sorted by extract then relative path.

    Hidden files and in-flight names (*.tmp, *.part, ...) are skipped; any other file, even
    with an unexpected suffix, is returned so that the loader can quarantine it visibly.
    """
    landing = Path(landing)
    found: list[LandingFile] = []
    for extract in extracts:
        folder = landing / extract
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            if path.name.lower().endswith(_IN_FLIGHT):
                continue
            stat = path.stat()
            found.append(
                LandingFile(
                    extract=extract,
                    path=path,
                    relative_path=path.relative_to(landing).as_posix(),
                    bytes=stat.st_size,
                    mtime_ns=stat.st_mtime_ns,
                )
            )
    return found


def fingerprint(file: LandingFile) -> LandingFile:
    """The file with its sha256 and line-break count, from one streaming read."""
    digest = hashlib.sha256()
    newlines = 0
    size = 0
    with open(file.path, "rb", buffering=0) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            newlines += chunk.count(b"\n")
            size += len(chunk)
    return replace(file, sha256=digest.hexdigest(), newlines=newlines, bytes=size)
