"""A published warehouse built from the bundled sample landing folder, for the report tests.

Two loads, as two nightly runs would do them, then `dbt build`:

1. the sample landing folder (`data/sample/landing`, made by `rcm generate` with a fixed
   seed); only the first files of each extract go through Great Expectations, to keep the
   fixture quick (validation costs about half a second per file);
2. four files dropped into the landing folder afterwards, every one validated: a re-sent
   copy of an encounters file (duplicate), an encounters row without `updated_at` that
   carries a made-up MRN (quarantined row), a charges file that is not a charges extract
   (quarantined file) and a charges line with a malformed revenue code (critical expectation
   failure, file quarantined). None of them adds a row to `raw`, so the marts are the sample's.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
from dbt_build import dbt_build

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_LANDING = ROOT / "data" / "sample" / "landing"
VALIDATED_PER_EXTRACT = 2
#: PHI planted in a quarantined row: must never reach a report
PLANTED_MRN = "MRN-RPT-7731902"
PLANTED_BIRTH_DATE = "1931-07-04"


@dataclass(frozen=True)
class BuiltWarehouse:
    landing: Path
    warehouse: Path
    tmp: Path


def _sampled_validation():
    """Validate the first files of each extract with the project's hook; pass the rest."""
    from rcm.validate.hook import validate_and_record

    seen: Counter = Counter()

    def hook(con, table, extract, load_id):
        seen[extract] += 1
        if seen[extract] > VALIDATED_PER_EXTRACT:
            return None
        return validate_and_record(con, table, extract, load_id)

    return hook


def _first_row(path: Path) -> tuple[list[str], dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), next(reader)


def _csv(header: list[str], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _drop_late_files(landing: Path) -> None:
    encounters = sorted((landing / "encounters").glob("*.csv"))
    charges = sorted((landing / "charges").glob("*.csv"))
    # the same bytes under another name: a duplicate
    shutil.copyfile(encounters[0], landing / "encounters" / "encounters_resent_copy.csv")
    # an encounter version without updated_at, carrying a made-up MRN: a quarantined row
    header, row = _first_row(encounters[-1])
    row |= {
        "encounter_id": "E-RPT-QUARANTINE",
        "patient_id": PLANTED_MRN,
        "patient_birth_date": PLANTED_BIRTH_DATE,
        "updated_at": "",
    }
    (landing / "encounters" / "encounters_late_fix.csv").write_text(_csv(header, [row]))
    # not a charges extract at all: a quarantined file
    (landing / "charges" / "charges_wrong_export.csv").write_text("foo,bar\n1,2\n")
    # a charge line with a malformed revenue code: critical expectation, file quarantined
    header, row = _first_row(charges[-1])
    row |= {"charge_id": "CHG-RPT-BADREV", "revenue_code": "12X"}
    (landing / "charges" / "charges_bad_revenue_code.csv").write_text(_csv(header, [row]))


def _load(landing: Path, working: Path, run_id: str, validate) -> None:
    from rcm.load import load_landing
    from rcm.ops.run_log import RunRecord, record_run

    run = RunRecord(run_id=run_id, landing=str(landing), warehouse=str(working))
    summary = load_landing(landing, working, run_id, validate_batch=validate)
    run.add_load(summary)
    run.finish("success")
    con = duckdb.connect(str(working))
    try:
        record_run(con, run)
    finally:
        con.close()


def build_warehouse(tmp: Path) -> BuiltWarehouse:
    """Load the sample (run 1) and the late files (run 2), publish, run `dbt build`."""
    from rcm.load import open_working_copy, publish
    from rcm.reference.warehouse import ensure_icd10cm
    from rcm.validate import build_data_docs
    from rcm.validate.hook import validate_and_record

    landing = tmp / "landing"
    shutil.copytree(SAMPLE_LANDING, landing)
    warehouse = tmp / "warehouse.duckdb"
    working = open_working_copy(warehouse)
    con = duckdb.connect(str(working))
    try:
        ensure_icd10cm(con)
    finally:
        con.close()
    _load(landing, working, "report-test-1", _sampled_validation())
    _drop_late_files(landing)
    _load(landing, working, "report-test-2", validate_and_record)
    build_data_docs(database=working)
    publish(working, warehouse)
    dbt_build(warehouse, tmp)
    return BuiltWarehouse(landing=landing, warehouse=warehouse, tmp=tmp)


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of `sql` on the published warehouse, opened read-only."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
