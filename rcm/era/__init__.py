"""X12 835 remittances into tables: a vectorized parser, envelope and balancing checks.

Public API:
- `parse_835_files(paths) -> Era835Tables` for the nightly loader (polars frames),
- `convert_files(files, out_dir, fmt)` behind `rcm era` (one file per table),
- `TABLES` (column, type, X12 source) documented in docs/era-tables.md.
"""

import gc

# Importing polars creates a great many objects (modules, classes, functions), and the cyclic
# garbage collector would scan them over and over while they are created (about a tenth of
# `rcm era`'s start-up); none of them is garbage, so collection waits until the imports end.
_collecting = gc.isenabled()
gc.disable()
try:
    from rcm.era.convert import ConvertResult, convert_files
    from rcm.era.parse import Era835Tables, parse_835_files
    from rcm.era.schema import TABLES
finally:
    if _collecting:
        gc.enable()

__all__ = ["ConvertResult", "Era835Tables", "TABLES", "convert_files", "parse_835_files"]
