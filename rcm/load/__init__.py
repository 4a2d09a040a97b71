"""Load layer of the nightly job: landing files -> raw / quarantine / ops (docs/loading.md).

Typical use (one writer per warehouse; the flow may run `load_one` as a task per file):

    working = open_working_copy(warehouse)
    summary = load_landing(landing, working, load_run_id, validate_batch=...)
    publish(working, warehouse)
"""

from rcm.load.discover import LandingFile, find_landing_files, fingerprint
from rcm.load.loader import (
    BatchValidator,
    FileResult,
    LoadError,
    LoadSummary,
    load_file,
    load_landing,
    load_one,
    pending_files,
)
from rcm.load.manifest import ManifestInvariantError
from rcm.load.warehouse import (
    cleanup_stale_working_copies,
    connect,
    ensure_schema,
    open_working_copy,
    publish,
    release_working_copy,
    working_path,
)

__all__ = [
    "BatchValidator",
    "FileResult",
    "LoadError",
    "LandingFile",
    "LoadSummary",
    "ManifestInvariantError",
    "cleanup_stale_working_copies",
    "connect",
    "find_landing_files",
    "ensure_schema",
    "fingerprint",
    "load_file",
    "load_landing",
    "load_one",
    "open_working_copy",
    "pending_files",
    "publish",
    "release_working_copy",
    "working_path",
]
