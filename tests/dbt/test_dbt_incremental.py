"""Incremental models: three nights of loads equal one full refresh of the same raw data.

A generated landing folder is delivered in three nights, the way the nightly flow sees it:
load the night's new files into the warehouse, then run the models (incremental; the last
night with `dbt build`, so the data tests also run on the incrementally built tables). Some files
arrive late on purpose - early charge files (remittances then reach the warehouse before
their claim's charge lines, so the claim has no facility yet) and earlier-dated copies of two
835 files (a remittance dated before the one already taken as the first adjudication) - so
the remittance facts must rebuild rows of claims whose context changed.

After the last night the warehouse is copied and rebuilt with `--full-refresh`:
every incremental model and every mart must be equal row for row. The incremental runs are
also checked to be incremental: dbt compiled each incremental model against its own table,
the staging tables gained exactly the new loads' rows, and rows untouched by the night
(marked before the build) were not rewritten.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from dbt_invoke import dbt_invoke

pytestmark = pytest.mark.integration

START = dt.date(2026, 1, 1)
NIGHT_1_LAST_DAY = dt.date(2026, 2, 5)
NIGHT_2_LAST_DAY = dt.date(2026, 2, 15)
# charge files of these days arrive with the last night
LATE_CHARGE_DAYS = {dt.date(2026, 1, d) for d in range(2, 9)}
# (original 835 of night 1 or 2, days earlier its copy is dated); the copies arrive last
EARLIER_COPIES = [("era_2026-02-02_001.835", 3), ("era_2026-02-09_001.835", 4)]

# dbt build without the data and unit tests: seeds and models
MODELS_ONLY = ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]

# the grain of the encounter x code models, as one key expression
ENCOUNTER_CODE = "encounter_id || '|' || code_system || '|' || code"
# the grain of int_documentation_gaps_identified (one row per gap occurrence)
GAP = " || '|' || ".join(
    ["gap_type", "encounter_id", "coalesce(charge_id, '')", "coalesce(code, '')"]
)

INCREMENTAL_MODELS = {
    # model: (schema, key column or expression, raw table it appends from, or None)
    "stg_ehr__charges": ("staging", "charge_id", "charges"),
    "stg_ehr__encounter_loads": ("staging", "load_id", None),
    "stg_ehr__encounters": ("staging", "encounter_id", None),
    "int_documented_codes_unnested": ("intermediate", ENCOUNTER_CODE, None),
    "int_billed_codes_aggregated": ("intermediate", ENCOUNTER_CODE, None),
    "int_claims_billed": ("intermediate", "claim_id", None),
    "int_encounter_codes_compared": ("intermediate", ENCOUNTER_CODE, None),
    "int_documentation_gaps_identified": ("intermediate", GAP, None),
    "stg_era__claims": ("staging", "era_claim_id", "era_claims"),
    "stg_era__claim_adjustments": ("staging", "adjustment_id", "era_claim_adjustments"),
    "stg_era__service_lines": ("staging", "era_service_line_id", "era_service_lines"),
    "stg_era__line_adjustments": ("staging", "adjustment_id", "era_line_adjustments"),
    "int_charges_costed": ("intermediate", "charge_id", None),
    "int_charges_lagged": ("intermediate", "charge_id", None),
    "int_payments_allocated": ("intermediate", "charge_id", None),
    "int_adjustments_categorized": ("intermediate", "adjustment_id", None),
    "fct_service_lines": ("marts", "era_service_line_id", None),
    "fct_adjustments": ("marts", "adjustment_id", None),
}
# columns of the incremental models that record builds: which build wrote the row, and
# the highest build of a parent it read (macros/incremental.sql, consumed_build)
BOOKKEEPING_COLUMNS = {
    "build_number",
    "encounter_loads_build",
    "encounters_build",
    "charges_build",
    "lagged_charges_build",
}
# models whose build_number is the night of each row's load (load_id)
NUMBERED_BY_LOAD = {
    "stg_ehr__charges",
    "stg_ehr__encounter_loads",
    "stg_era__claims",
    "stg_era__claim_adjustments",
    "stg_era__service_lines",
    "stg_era__line_adjustments",
}
# a column per model that nothing downstream of an untouched row reads: the marker (the
# ledger stg_ehr__encounter_loads has none: its two columns are what it is read for)
MARKER_COLUMNS = {
    "stg_ehr__charges": ("cdm_code", "'untouched'"),
    "stg_ehr__encounters": ("source_line", "-999"),
    "int_documented_codes_unnested": ("code_position", "-999"),
    "int_billed_codes_aggregated": ("charge_lines", "-999"),
    # read by a data test only (severity warn: the night's build warns on the marker)
    "int_claims_billed": ("facility_count", "-999"),
    "int_encounter_codes_compared": ("is_correct", "null"),
    "int_documentation_gaps_identified": ("department_id", "'untouched'"),
    "stg_era__claims": ("facility_type_code", "'untouched'"),
    "stg_era__claim_adjustments": ("adjustment_quantity", "-999"),
    "stg_era__service_lines": ("line_control_number", "'untouched'"),
    "stg_era__line_adjustments": ("adjustment_quantity", "-999"),
    "int_charges_costed": ("revenue_code_family", "'untouched'"),
    "int_charges_lagged": ("claim_id", "'untouched'"),
    # every other column is read by the staleness check or a data test of the night
    "int_payments_allocated": ("load_id", "'untouched'"),
    "int_adjustments_categorized": ("adjustment_quantity", "-999"),
    "fct_service_lines": ("line_control_number", "'untouched'"),
    "fct_adjustments": ("adjustment_quantity", "-999"),
}
# models whose untouched rows are those of claims (era_claim_id) the night does not touch
BY_REMITTANCE_CLAIM = ("stg_era", "fct", "int_adjustments")
# models keyed by claim_id: untouched rows are those of claims the night brings nothing for
BY_CLAIM = ("int_payments_allocated", "int_claims_billed")


def _file_day(name: str) -> dt.date:
    return dt.date.fromisoformat(re.search(r"\d{4}-\d{2}-\d{2}", name).group(0))


def _earlier_copy(source: Path, target_dir: Path, days: int) -> Path:
    """The 835 `source` re-dated `days` earlier (BPR16 and DTM*405), as a new file."""
    text = source.read_text()
    element, terminator = text[3], text[105]
    old_day = _file_day(source.name)
    new_day = old_day - dt.timedelta(days=days)
    old, new = old_day.strftime("%Y%m%d"), new_day.strftime("%Y%m%d")
    segments = []
    for segment in text.split(terminator):
        fields = segment.strip("\r\n").split(element)
        if fields[0] == "BPR" and fields[-1] == old:
            segment = segment.replace(element + old, element + new)
        elif fields[0] == "DTM" and fields[1:3] == ["405", old]:
            segment = segment.replace(element + old, element + new)
        segments.append(segment)
    name = f"era_{new_day.isoformat()}_901.835"
    target = target_dir / name
    target.write_text(terminator.join(segments))
    assert target.read_text() != text
    return target


def _nights(generated: Path) -> list[list[Path]]:
    files = sorted(
        p for p in generated.rglob("*") if p.is_file() and p.parent.name != generated.name
    )
    nights: list[list[Path]] = [[], [], []]
    for path in files:
        day = _file_day(path.name)
        if path.parent.name == "charges" and day in LATE_CHARGE_DAYS:
            nights[2].append(path)
        elif day <= NIGHT_1_LAST_DAY:
            nights[0].append(path)
        elif day <= NIGHT_2_LAST_DAY:
            nights[1].append(path)
        else:
            nights[2].append(path)
    copies = generated.parent / "copies" / "remittances"
    copies.mkdir(parents=True)
    for name, days in EARLIER_COPIES:
        nights[2].append(_earlier_copy(generated / "remittances" / name, copies, days))
    return nights


# new versions the last night brings of three encounters coded on the first night; dated
# after every other version, so they are the latest
NEW_VERSION_STAMP = "2026-12-31T00:00:00"


def _new_versions(first_night: list[Path], folder: Path) -> tuple[Path, dict[str, str]]:
    """An encounters file with new versions of three coded encounters of the first night:
    one documents no code any more, one is no longer coded, one has another principal
    diagnosis. Returns the file and {change: encounter_id}."""
    import polars as pl

    frames = [pl.read_csv(p, infer_schema=False) for p in first_night if "encounters" in p.name]
    latest = pl.concat(frames).sort("updated_at").unique("encounter_id", keep="last")
    coded = latest.filter(
        pl.col("coded_at").is_not_null()
        & pl.col("documented_dx_codes").is_not_null()
        & pl.col("documented_px_codes").is_not_null()
    ).sort("encounter_id")
    rows = coded.head(3).to_dicts()
    assert len(rows) == 3, "the first night has fewer than three coded encounters"
    changes = {"no_codes": rows[0], "not_coded": rows[1], "recoded": rows[2]}
    changes["no_codes"].update(documented_dx_codes=None, documented_px_codes=None)
    changes["not_coded"].update(coded_at=None, final_billed_at=None)
    dx = changes["recoded"]["documented_dx_codes"].split(";")
    changes["recoded"]["documented_dx_codes"] = ";".join(["R69", *dx[1:]])
    for row in changes.values():
        row["updated_at"] = NEW_VERSION_STAMP
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "encounters_2026-02-28_901.csv"
    pl.DataFrame(list(changes.values()), schema=latest.schema).write_csv(path)
    return path, {change: row["encounter_id"] for change, row in changes.items()}


def _encounter_rows(warehouse: Path, encounters: dict[str, str]) -> dict[str, tuple]:
    """Per change: (documented codes, compared codes, principal documented dx) of its encounter."""
    out = {}
    for change, encounter_id in encounters.items():
        out[change] = _query(
            warehouse,
            """
            select
                (select count(*) from intermediate.int_documented_codes_unnested
                 where encounter_id = $1),
                (select count(*) from intermediate.int_encounter_codes_compared
                 where encounter_id = $1),
                (select max(code) from intermediate.int_documented_codes_unnested
                 where encounter_id = $1 and code_system = 'icd10cm' and code_position = 1)
            """,
            [encounter_id],
        )[0]
    return out


def _load(files: list[Path], landing: Path, warehouse: Path, run_id: str) -> None:
    from rcm.load import load_landing, open_working_copy, publish
    from rcm.reference.warehouse import ensure_icd10cm

    for path in files:
        target = landing / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    working = open_working_copy(warehouse)
    summary = load_landing(landing, working, run_id)
    assert summary.count("loaded") == len(files), summary.describe()
    con = duckdb.connect(str(working))
    try:
        ensure_icd10cm(con)
    finally:
        con.close()
    publish(working, warehouse)


def _query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _execute(path: Path, statements: list[tuple[str, list]]) -> None:
    con = duckdb.connect(str(path))
    try:
        for sql, params in statements:
            con.execute(sql, params)
    finally:
        con.close()


def _touched_claims(warehouse: Path, run_id: str) -> set[str]:
    """claim_ids that the night's loads bring remittances or charge lines for."""
    return {
        claim_id
        for (claim_id,) in _query(
            warehouse,
            """
            with night as (
                select load_id from ops.load_manifest where load_run_id = ?
            )
            select patient_control_number from raw.era_claims
            where _load_id in (select load_id from night)
            union
            select claim_id from raw.charges where _load_id in (select load_id from night)
            """,
            [run_id],
        )
    }


def _night_encounters(warehouse: Path, run_id: str, raw_table: str) -> set[str]:
    """encounter_ids of the rows the night's loads bring to raw.<raw_table>."""
    return {
        encounter_id
        for (encounter_id,) in _query(
            warehouse,
            f"select encounter_id from raw.{raw_table} where _load_id in "
            "(select load_id from ops.load_manifest where load_run_id = ?)",
            [run_id],
        )
    }


def _plant_markers(warehouse: Path, run_id: str) -> dict[str, tuple[str, object]]:
    """Mark one existing row per incremental model that the night must not rewrite.

    Staging: any row of an earlier load (append never rewrites). Remittance facts: a row of
    a claim the night does not touch. Returns model -> (key, original value).
    """
    touched = _touched_claims(warehouse, run_id)
    claim_of = dict(_query(warehouse, "select era_claim_id, claim_id from staging.stg_era__claims"))
    changed_encounters = _night_encounters(warehouse, run_id, "encounters")
    charged_encounters = _night_encounters(warehouse, run_id, "charges")
    # an encounter with a missed charge is rebuilt when the price of its code moves, which
    # lines of any encounter can do
    priced_encounters = {
        encounter_id
        for (encounter_id,) in _query(
            warehouse,
            "select encounter_id from intermediate.int_documentation_gaps_identified "
            "where gap_type = 'missed_charge'",
        )
    }
    # models rebuilt by encounter: the encounters the night touches for each
    by_encounter = {
        "int_charges_lagged": changed_encounters,
        "stg_ehr__encounters": changed_encounters,
        "int_documented_codes_unnested": changed_encounters,
        "int_billed_codes_aggregated": charged_encounters,
        "int_encounter_codes_compared": changed_encounters | charged_encounters,
        "int_documentation_gaps_identified": (
            changed_encounters | charged_encounters | priced_encounters
        ),
    }
    planted: dict[str, tuple[str, object]] = {}
    statements = []
    for model, (schema, key, _) in INCREMENTAL_MODELS.items():
        if model not in MARKER_COLUMNS:
            continue
        column, marker = MARKER_COLUMNS[model]
        if model.startswith(BY_REMITTANCE_CLAIM):
            scope = "era_claim_id"
        elif model in BY_CLAIM:
            scope = "claim_id"
        elif model in by_encounter:
            scope = "encounter_id"
        else:
            scope = "null"
        candidates = _query(
            warehouse, f"select {key}, {column}, {scope} from {schema}.{model} order by {key}"
        )
        for row_key, original, scope_id in candidates:
            if model in BY_CLAIM:
                untouched = scope_id not in touched
            elif model in by_encounter:
                untouched = scope_id not in by_encounter[model]
            else:
                untouched = scope_id is None or claim_of.get(scope_id) not in touched
            if untouched:
                planted[model] = (row_key, original)
                statements.append(
                    (f"update {schema}.{model} set {column} = {marker} where {key} = ?", [row_key])
                )
                break
        assert model in planted, f"no untouched row in {model}"
    _execute(warehouse, statements)
    return planted


def _markers_kept(warehouse: Path, planted: dict[str, tuple[str, object]]) -> dict[str, bool]:
    kept = {}
    for model, (row_key, _) in planted.items():
        schema, key, _ = INCREMENTAL_MODELS[model]
        column, marker = MARKER_COLUMNS[model]
        sql = f"select {column} is not distinct from {marker} from {schema}.{model} where {key} = ?"
        (value,) = _query(warehouse, sql, [row_key])[0]
        kept[model] = value
    return kept


def _restore_markers(warehouse: Path, planted: dict[str, tuple[str, object]]) -> None:
    statements = []
    for model, (row_key, original) in planted.items():
        schema, key, _ = INCREMENTAL_MODELS[model]
        column, _ = MARKER_COLUMNS[model]
        statements.append(
            (f"update {schema}.{model} set {column} = ? where {key} = ?", [original, row_key])
        )
    _execute(warehouse, statements)


def _new_rows(warehouse: Path, run_id: str) -> dict[str, tuple[int, int]]:
    """Per staging model: (rows of the night's loads in the model, rows of them in raw)."""
    counts = {}
    for model, (schema, _, raw_table) in INCREMENTAL_MODELS.items():
        if raw_table is None:
            continue
        counts[model] = _query(
            warehouse,
            f"""
            with night as (select load_id from ops.load_manifest where load_run_id = ?)
            select
                (select count(*) from {schema}.{model}
                 where load_id in (select load_id from night)),
                (select count(*) from raw.{raw_table}
                 where _load_id in (select load_id from night))
            """,
            [run_id],
        )[0]
    return counts


def _make_stale(
    warehouse: Path, run_id: str, avoid: set[str], planted: dict[str, tuple[str, object]]
) -> list[str]:
    """Corrupt the stored context of two untouched claims, as an out-of-date build would
    leave it: the night must rebuild them (facility, carc_categories_version). Likewise an
    untouched line's encounter context in int_charges_lagged, an untouched claim's net paid in
    int_payments_allocated, the cost inputs' version of one int_charges_costed row (the
    night must then cost every line again, the planted marker included), the code-set
    version of one int_encounter_codes_compared row (every encounter compared again), and
    the price of one missed charge of an encounter the night does not touch in
    int_documentation_gaps_identified (its encounter rebuilt). The lagged line and the
    missed charge belong to two encounters other than the gaps marker's."""
    touched = _touched_claims(warehouse, run_id)
    gaps = "intermediate.int_documentation_gaps_identified"
    ((gaps_marker_encounter,),) = _query(
        warehouse,
        f"select encounter_id from {gaps} where {GAP} = ?",
        [planted["int_documentation_gaps_identified"][0]],
    )
    # a missed charge of an encounter the night's files do not touch
    night = _night_encounters(warehouse, run_id, "encounters") | _night_encounters(
        warehouse, run_id, "charges"
    )
    ((stale_price, stale_price_encounter),) = _query(
        warehouse,
        f"select {GAP}, encounter_id from {gaps} where gap_type = 'missed_charge' "
        "and encounter_id not in (select unnest(?::varchar[])) order by 1 desc limit 1",
        [sorted(night | {gaps_marker_encounter})],
    )
    rows = _query(
        warehouse,
        """
        select era_claim_id from marts.fct_adjustments
        where era_service_line_id is not null
        group by era_claim_id, claim_id
        having claim_id not in (select unnest(?::varchar[]))
        order by era_claim_id
        """,
        [sorted(touched | avoid)],
    )
    stale = [rows[0][0], rows[1][0]]
    _execute(
        warehouse,
        [
            ("update marts.fct_service_lines set facility_id = 'STALE' where era_claim_id = ?",
             [stale[0]]),
            ("update marts.fct_adjustments set facility_id = 'STALE' where era_claim_id = ?",
             [stale[0]]),
            ("update marts.fct_adjustments set carc_categories_version = 'old', "
             "denial_category = 'STALE' where era_claim_id = ?", [stale[1]]),
            ("update marts.fct_service_lines set carc_categories_version = 'old', "
             "denial_adjustment_amount = -1 where era_claim_id = ?", [stale[1]]),
            ("update intermediate.int_charges_lagged set discharge_date = date '1900-01-01', "
             "is_late = not is_late where charge_id = (select max(charge_id) "
             "from intermediate.int_charges_lagged where charge_id <> ? "
             "and encounter_id not in (?, ?))",
             [planted["int_charges_lagged"][0], gaps_marker_encounter, stale_price_encounter]),
            ("update intermediate.int_payments_allocated set claim_net_paid_amount = -1, "
             "allocated_payment_amount = -1 where claim_id = (select max(claim_id) "
             "from intermediate.int_payments_allocated where claim_net_paid_amount is not null "
             "and claim_id not in (select unnest(?::varchar[])))",
             [sorted(touched | avoid)]),
            ("update intermediate.int_charges_costed set charge_costing_version = 'old', "
             "cost_amount = -1 where charge_id = (select max(charge_id) "
             "from intermediate.int_charges_costed)", []),
            ("update intermediate.int_encounter_codes_compared set icd10cm_version = 'old', "
             f"is_unspecified = not is_unspecified where {ENCOUNTER_CODE} = (select "
             f"max({ENCOUNTER_CODE}) from intermediate.int_encounter_codes_compared "
             f"where {ENCOUNTER_CODE} <> ?)", [planted["int_encounter_codes_compared"][0]]),
            # a missed charge priced before its code's median unit charge moved
            (f"update {gaps} set dollars_at_risk = -1 where {GAP} = ?", [stale_price]),
        ],
    )  # fmt: skip
    return stale


def _context(warehouse: Path) -> dict[str, tuple]:
    return {
        row[0]: row[1:]
        for row in _query(
            warehouse,
            "select era_service_line_id, facility_id, is_first_adjudication "
            "from marts.fct_service_lines",
        )
    }


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    from rcm.generate import generate

    tmp = tmp_path_factory.mktemp("dbt_incremental")
    generated = tmp / "generated" / "landing"
    generate(generated, encounters=200, seed=23, start_date=START, days=60)
    (generated / "truth.json").unlink()
    landing, warehouse, work = tmp / "landing", tmp / "warehouse.duckdb", tmp / "dbt"
    record: dict = {"planted": {}, "kept": {}, "new_rows": {}, "compiled": {}}
    nights = _nights(generated)
    versions, record["new_versions"] = _new_versions(nights[0], tmp / "versions" / "encounters")
    nights[2].append(versions)
    for number, files in enumerate(nights, start=1):
        run_id = f"night{number}"
        _load(files, landing, warehouse, run_id)
        planted: dict = {}
        if number > 1:
            planted = _plant_markers(warehouse, run_id)
        if number == 3:
            record["context_before"] = _context(warehouse)
            record["versions_before"] = _encounter_rows(warehouse, record["new_versions"])
            # the claims of the planted markers stay untouched by the corruption below
            avoid = {
                claim
                for model in ("fct_service_lines", "fct_adjustments", "int_payments_allocated")
                for (claim,) in _query(
                    warehouse,
                    f"select claim_id from {INCREMENTAL_MODELS[model][0]}.{model} "
                    f"where {INCREMENTAL_MODELS[model][1]} = ?",
                    [planted[model][0]],
                )
            }
            record["stale"] = _make_stale(warehouse, run_id, avoid, planted)
        # models only on the first nights; the last night runs the data tests on the
        # incrementally built tables as well (dbt build, as the nightly flow does)
        result = dbt_invoke(["build"] if number == 3 else MODELS_ONLY, warehouse, work)
        record["compiled"][run_id] = {
            r.node.name: r.node.compiled_code or ""
            for r in result.result.results
            if r.node.name in INCREMENTAL_MODELS and r.node.resource_type == "model"
        }
        if planted:
            record["planted"][run_id] = planted
            record["kept"][run_id] = _markers_kept(warehouse, planted)
            record["new_rows"][run_id] = _new_rows(warehouse, run_id)
            _restore_markers(warehouse, planted)
            if number == 3:
                # the models rebuilt whole every night (tables) read the markers during this
                # build; rebuild them from the restored rows, as the next night would
                dbt_invoke(["run", "--select", "config.materialized:table"], warehouse, work)
    record["context_after"] = _context(warehouse)
    record["versions_after"] = _encounter_rows(warehouse, record["new_versions"])
    full = tmp / "full_refresh.duckdb"
    shutil.copy(warehouse, full)
    dbt_invoke([*MODELS_ONLY, "--full-refresh"], full, tmp / "dbt_full")
    return warehouse, full, record


def _tables(path: Path) -> list[tuple[str, str]]:
    return _query(
        path,
        """
        select table_schema, table_name from information_schema.tables
        where table_schema in ('staging', 'intermediate', 'marts') and table_type = 'BASE TABLE'
        order by all
        """,
    )


def test_incremental_equals_full_refresh_row_for_row(nights):
    incremental, full, _ = nights
    tables = _tables(incremental)
    assert tables == _tables(full)
    names = {name for _, name in tables}
    assert set(INCREMENTAL_MODELS) | {"coding_accuracy", "denial_rates", "charge_lag"} <= names
    con = duckdb.connect()
    try:
        con.execute(f"attach '{incremental}' as incremental (read_only)")
        con.execute(f"attach '{full}' as full_refresh (read_only)")
        differences = {}
        for schema, name in tables:
            a, b = f"incremental.{schema}.{name}", f"full_refresh.{schema}.{name}"
            if name in INCREMENTAL_MODELS:
                # which build wrote a row, and which builds of its parents it read, differ
                # by design (test_build_numbers_count_nights)
                columns = {
                    c for (c,) in con.execute(f"select column_name from (describe {a})").fetchall()
                }
                bookkeeping = ", ".join(sorted(columns & BOOKKEEPING_COLUMNS))
                a, b = (f"(select * exclude ({bookkeeping}) from {t})" for t in (a, b))
            (rows_a,) = con.execute(f"select count(*) from {a}").fetchall()[0]
            (only_a,) = con.execute(
                f"select count(*) from (select * from {a} except all select * from {b})"
            ).fetchall()[0]
            (only_b,) = con.execute(
                f"select count(*) from (select * from {b} except all select * from {a})"
            ).fetchall()[0]
            if only_a or only_b or rows_a == 0:
                differences[f"{schema}.{name}"] = (rows_a, only_a, only_b)
        assert not differences, differences
    finally:
        con.close()


def test_nights_ran_incrementally(nights):
    _, _, record = nights
    for run_id in ("night2", "night3"):
        compiled = record["compiled"][run_id]
        assert set(compiled) == set(INCREMENTAL_MODELS)
        for model, code in compiled.items():
            schema = INCREMENTAL_MODELS[model][0]
            # is_incremental(): the model reads its own table to find what it lacks
            assert f'"{schema}"."{model}"' in code, (run_id, model)
        # the append-only staging models select the night's loads by a list of constants
        # (is_new_load), which DuckDB filters the scan of raw with
        for model in NUMBERED_BY_LOAD:
            assert re.search(rf"_load_id in \('{run_id}:[^)]*\)", compiled[model]), (run_id, model)
        # the staging tables gained exactly the rows of the night's loads
        new_rows = record["new_rows"][run_id]
        assert all(in_model == in_raw for in_model, in_raw in new_rows.values()), new_rows
        assert new_rows["stg_ehr__charges"][0] > 0 and new_rows["stg_era__claims"][0] > 0
        # rows the night did not touch were not rewritten; on night 3 one int_charges_costed
        # row carried another cost-input version, so every line was costed again
        kept = dict(record["kept"][run_id])
        assert kept.pop("int_charges_costed") is (run_id == "night2"), run_id
        # likewise one int_encounter_codes_compared row carried another code-set version
        assert kept.pop("int_encounter_codes_compared") is (run_id == "night2"), run_id
        assert all(kept.values()), kept


def test_late_arrivals_changed_context_of_existing_rows(nights):
    """The scenario really exercises the rebuild of stale claims (else the test is weak)."""
    _, _, record = nights
    before, after = record["context_before"], record["context_after"]
    common = before.keys() & after.keys()
    facility_set = [k for k in common if before[k][0] is None and after[k][0] is not None]
    first_moved = [k for k in common if before[k][1] and not after[k][1]]
    assert facility_set, "no remittance line got its facility from late charge lines"
    assert first_moved, "no first adjudication moved to an earlier-dated remittance"
    assert not [k for k, v in after.items() if v[0] == "STALE"]


def test_new_encounter_versions_replace_their_rows(nights):
    """The scenario really exercises encounters losing rows (else the comparison with a
    full refresh is weak): before the last night each of the three encounters has
    documented and compared codes; after it, the one documenting no code has no documented
    rows, the one no longer coded no compared rows, and the recoded one R69 as principal."""
    _, _, record = nights
    before, after = record["versions_before"], record["versions_after"]
    assert all(documented > 0 and compared > 0 for documented, compared, _ in before.values())
    assert after["no_codes"][0] == 0 and after["no_codes"][1] > 0  # billed, not documented
    assert after["not_coded"][0] == before["not_coded"][0] and after["not_coded"][1] == 0
    assert before["recoded"][2] != "R69" and after["recoded"][2] == "R69"


def test_build_numbers_count_nights(nights):
    """Every row carries the build that wrote it: 1 after a full refresh; after three nights
    the append-only staging tables hold each night's loads under that night's number."""
    incremental, full, _ = nights
    for model, (schema, _, _) in INCREMENTAL_MODELS.items():
        table = f"{schema}.{model}"
        assert _query(full, f"select distinct build_number from {table}") == [(1,)], model
        numbers = {n for (n,) in _query(incremental, f"select distinct build_number from {table}")}
        assert 3 in numbers and numbers <= {1, 2, 3}, (model, numbers)
        if model in NUMBERED_BY_LOAD:
            (wrong,) = _query(
                incremental,
                f"select count(*) from {table} where build_number is distinct from "
                r"cast(regexp_extract(load_id, '^night(\d):', 1) as integer)",
            )[0]
            assert wrong == 0, model


# a service line written by build `?` with no adjustments and paid one more than charged
# (line charge - 0 <> line paid): the line balance test fails on it
PLANT_UNBALANCED_LINE = (
    "insert into staging.stg_era__service_lines select * replace ("
    "'planted-unbalanced' as era_service_line_id, "
    "line_charge_amount + 1 as line_paid_amount, ? as build_number) "
    "from staging.stg_era__service_lines where is_balanced limit 1"
)


def _failing_key_tests(warehouse: Path, workdir: Path, whole_tables: bool = False) -> list[str]:
    args = [
        "test",
        "--select",
        "stg_ehr__charges stg_era__line_adjustments stg_era__service_lines "
        "int_documented_codes_unnested",
    ]
    if whole_tables:
        args += ["--vars", "{data_tests_whole_tables: true}"]
    result = dbt_invoke(args, warehouse, workdir, expect_success=False)
    return sorted(
        r.node.name.split("__ref_")[0] for r in result.result.results if str(r.status) == "fail"
    )


@pytest.mark.parametrize("written_by_build", [1, 3])
def test_key_tests_check_the_latest_build_against_the_whole_table(
    nights, tmp_path, written_by_build
):
    """A repeated charge_id, an adjustment of an unknown service line, a repeated
    encounter x code and an unbalanced service line: written by the latest build (3) they
    fail the nightly's key and balance tests, even though the repeated rows' first copies
    are old rows; written by an earlier build (1) they are out of the tests' scope (that
    build passed them), and only the whole-table check sees them."""
    incremental, _, _ = nights
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(incremental, warehouse)
    _execute(
        warehouse,
        [
            ("insert into staging.stg_ehr__charges select * replace (? as build_number) "
             "from staging.stg_ehr__charges where build_number = 1 limit 1",
             [written_by_build]),
            ("insert into staging.stg_era__line_adjustments select * replace ("
             "'planted-orphan' as adjustment_id, 'no-such-line' as era_service_line_id, "
             "? as build_number) from staging.stg_era__line_adjustments limit 1",
             [written_by_build]),
            ("insert into intermediate.int_documented_codes_unnested select * replace "
             "(? as build_number) from intermediate.int_documented_codes_unnested "
             "where build_number = 1 limit 1", [written_by_build]),
            (PLANT_UNBALANCED_LINE, [written_by_build]),
        ],
    )  # fmt: skip
    both = [
        "relationships_in_latest_build_stg_era__line_adjustments_era_service_line_id"
        "__era_service_line_id",
        "remittance_balances_stg_era__service_lines_adjustment_amount",
        "unique_combination_in_latest_build_int_documented_codes_unnested_encounter_id"
        "__code_system__code",
        "unique_in_latest_build_stg_ehr__charges_charge_id",
    ]
    nightly = _failing_key_tests(warehouse, tmp_path / "dbt")
    assert nightly == (both if written_by_build == 3 else [])
    assert _failing_key_tests(warehouse, tmp_path / "dbt", whole_tables=True) == both


@pytest.mark.parametrize("severity", ["error", "warn"])
def test_balance_tests_read_the_latest_build_only_with_severity_error(nights, tmp_path, severity):
    """The 835 balance tests look at the latest build's lines and claims when a failure
    stops the night (severity error); as warnings they read every row each night, so an
    unbalanced remittance stays reported: an unbalanced line written by an earlier build is
    out of scope with severity error and still reported with severity warn."""
    incremental, _, _ = nights
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(incremental, warehouse)
    _execute(
        warehouse,
        [
            (PLANT_UNBALANCED_LINE, [1]),
        ],
    )  # fmt: skip
    result = dbt_invoke(
        ["test", "--select", "test_name:remittance_balances",
         "--vars", f"{{era_balance_severity: {severity}}}"],
        warehouse, tmp_path / "dbt", expect_success=False,
    )  # fmt: skip
    statuses = sorted(
        (r.node.name.split("_adjustment_amount")[0], str(r.status), r.failures)
        for r in result.result.results
    )
    line_test = "remittance_balances_stg_era__service_lines"
    claim_test = "remittance_balances_stg_era__claims"
    if severity == "error":
        assert statuses == [(claim_test, "pass", 0), (line_test, "pass", 0)]
    else:
        assert statuses == [(claim_test, "pass", 0), (line_test, "warn", 1)]


def _table_without_bookkeeping(path: Path, table: str) -> list[tuple]:
    columns = [c for (c,) in _query(path, f"select column_name from (describe {table})")]
    kept = ", ".join(c for c in columns if c not in BOOKKEEPING_COLUMNS)
    return _query(path, f"select {kept} from {table} order by all")


def test_a_new_bill_hold_window_rejudges_late_charge_gaps(nights, tmp_path):
    """int_charges_lagged judges its lines again when var bill_hold_days changes; the gaps
    model rebuilds their encounters from those rows (it reads the lines int_charges_lagged
    wrote since its last build), so an incremental run with the new window equals a full
    refresh with it, and the scenario really changes the late_charge gaps."""
    incremental, _, _ = nights
    gaps = "intermediate.int_documentation_gaps_identified"
    late = f"select count(*) from {gaps} where gap_type = 'late_charge'"
    ((late_before,),) = _query(incremental, late)
    window = ["--vars", "{bill_hold_days: 1}"]
    select = ["--select", "int_charges_lagged int_documentation_gaps_identified"]
    night, full = tmp_path / "night.duckdb", tmp_path / "full.duckdb"
    shutil.copy(incremental, night)
    shutil.copy(incremental, full)
    dbt_invoke(["run", *select, *window], night, tmp_path / "dbt_night")
    dbt_invoke(["run", *select, *window, "--full-refresh"], full, tmp_path / "dbt_full")
    ((late_after,),) = _query(night, late)
    assert late_after > late_before
    assert _table_without_bookkeeping(night, gaps) == _table_without_bookkeeping(full, gaps)
