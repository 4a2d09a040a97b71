"""End to end against the generator's injected truth: generate -> load -> dbt build -> marts.

`rcm generate` writes truth.json with every mart at its grain, computed from the labels it
injected (rcm/generate/truth.py), independently of the SQL. The marts built by dbt from the
loaded warehouse must equal it: counts exactly, money to the cent, rates to 1e-9.
The measures truth.json does not carry (unspecified-code rate, charge lag) are recomputed
here in polars from the generated CSV files and the ICD-10-CM release, not from SQL.
Slow (a few hundred encounters, ~1 min): run with `pytest -m slow tests/dbt`.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dbt_build import dbt_build
from marts_truth import GRAINS, assert_mart_equals_truth

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from rcm.generate import generate
    from rcm.load import load_landing, open_working_copy, publish
    from rcm.reference.warehouse import ensure_icd10cm

    tmp = tmp_path_factory.mktemp("dbt_truth")
    landing = tmp / "landing"
    generate(landing, encounters=300, seed=11, start_date=dt.date(2026, 1, 1), days=60)
    warehouse = tmp / "warehouse.duckdb"
    working = open_working_copy(warehouse)
    load_landing(landing, working, "truth-test")
    con = duckdb.connect(str(working))
    try:
        ensure_icd10cm(con)
    finally:
        con.close()
    publish(working, warehouse)
    dbt_build(warehouse, tmp)
    truth = json.loads((landing / "truth.json").read_text())
    return warehouse, truth, landing


@pytest.mark.parametrize("mart", list(GRAINS))
def test_mart_equals_truth(built, mart):
    warehouse, truth, _ = built
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert_mart_equals_truth(con, mart, truth)
    finally:
        con.close()


# ------------------------------------------------------------------ recomputed in polars
BILL_HOLD_DAYS = 4  # dbt var bill_hold_days (default), the generator's window too


def _csvs(landing: Path, extract: str) -> pl.DataFrame:
    """Every file of an extract as text columns, in file (= day) order, with file row order."""
    frames = [
        pl.read_csv(path, infer_schema=False).with_columns(
            pl.lit(path.name).alias("_file"), pl.int_range(pl.len()).alias("_row")
        )
        for path in sorted((landing / extract).glob("*.csv"))
    ]
    return pl.concat(frames, how="diagonal")


def _norm(column: pl.Expr) -> pl.Expr:
    return column.str.strip_chars().str.to_uppercase().str.replace_all(r"[.\s]", "")


def _latest_encounters(landing: Path) -> pl.DataFrame:
    return (
        _csvs(landing, "encounters")
        .sort("updated_at", "_file", "_row", descending=[True, False, False])
        .unique("encounter_id", keep="first", maintain_order=True)
    )


def _charges(landing: Path) -> pl.DataFrame:
    return (
        _csvs(landing, "charges")
        .unique("charge_id", keep="first", maintain_order=True)
        .with_columns(pl.col("charge_amount").cast(pl.Decimal(18, 2)))
    )


def _months(column: str) -> pl.Expr:
    return pl.col(column).str.slice(0, 7).add("-01").str.to_date()


def test_unspecified_code_rate_equals_recomputation(built):
    """dx_codes_billed / dx_codes_unspecified recomputed from the CSVs and the release."""
    from rcm.reference.icd10cm import code_table

    warehouse, _, landing = built
    icd = code_table().select(
        pl.col("icd10cm_code").alias("code"),
        (
            pl.col("is_billable")
            & pl.col("description").str.to_lowercase().str.contains("unspecified")
        ).alias("unspecified"),
    )
    coded = _latest_encounters(landing).filter(pl.col("coded_at").is_not_null())
    # billed dx: per encounter and code, the lines carrying it (once per line) sum > 0
    billed = (
        _charges(landing)
        .select("charge_id", "encounter_id", "charge_amount", code=pl.col("billed_dx_codes"))
        .with_columns(pl.col("code").str.split(";"))
        .explode("code")
        .with_columns(_norm(pl.col("code")))
        .filter(pl.col("code").is_not_null() & (pl.col("code") != ""))
        .unique(["charge_id", "code"])
        .group_by("encounter_id", "code")
        .agg(pl.col("charge_amount").sum())
        .filter(pl.col("charge_amount") > 0)
        .join(icd, on="code", how="left")
        .group_by("encounter_id")
        .agg(
            pl.len().alias("dx_codes_billed"),
            pl.col("unspecified").fill_null(False).sum().alias("dx_codes_unspecified"),
        )
    )
    expected = (
        coded.join(billed, on="encounter_id", how="left")
        .with_columns(_months("coded_at").alias("month"))
        .group_by("month", "facility_id", "coder_id")
        .agg(
            pl.col("dx_codes_billed").fill_null(0).sum(),
            pl.col("dx_codes_unspecified").fill_null(0).sum(),
        )
    )
    got = _query_frame(
        warehouse,
        "select month, facility_id, coder_id, dx_codes_billed, dx_codes_unspecified, "
        "unspecified_code_rate from marts.coding_accuracy",
    )
    assert expected["dx_codes_unspecified"].sum() > 0  # the data has unspecified codes
    want = {
        (r["month"], r["facility_id"], r["coder_id"]): r for r in expected.iter_rows(named=True)
    }
    have = {(r["month"], r["facility_id"], r["coder_id"]): r for r in got.iter_rows(named=True)}
    assert set(have) == set(want)
    for key, row in want.items():
        assert have[key]["dx_codes_billed"] == row["dx_codes_billed"], key
        assert have[key]["dx_codes_unspecified"] == row["dx_codes_unspecified"], key
        rate = (
            row["dx_codes_unspecified"] / row["dx_codes_billed"] if row["dx_codes_billed"] else None
        )
        assert have[key]["unspecified_code_rate"] == pytest.approx(rate, rel=1e-12), key


def test_charge_lag_equals_recomputation(built):
    """Every charge_lag row recomputed from the CSVs: lag, nearest-rank p90, late lines."""
    warehouse, _, landing = built
    encounters = _latest_encounters(landing).select(
        "encounter_id", "encounter_type", "discharge_date"
    )
    lines = (
        _charges(landing)
        .filter(pl.col("service_date").is_not_null() & pl.col("posted_date").is_not_null())
        .join(encounters, on="encounter_id", how="left")
        .with_columns(
            pl.col("service_date").str.to_date(),
            pl.col("posted_date").str.to_date(),
            pl.col("discharge_date").str.to_date(),
        )
    )
    want = {}
    for row in lines.iter_rows(named=True):
        key = (row["service_date"].replace(day=1), row["facility_id"], row["department_id"])
        lag = (row["posted_date"] - row["service_date"]).days
        reference = (
            row["discharge_date"] if row["encounter_type"] == "inpatient" else row["service_date"]
        )
        late = reference is not None and (row["posted_date"] - reference).days > BILL_HOLD_DAYS
        group = want.setdefault(key, {"lags": [], "late": 0, "charges": Decimal(0), "late_$": 0})
        group["lags"].append(lag)
        group["late"] += late
        group["charges"] += row["charge_amount"]
        group["late_$"] += row["charge_amount"] if late else 0
    got = _query_frame(warehouse, "select * from marts.charge_lag")
    have = {
        (r["month"], r["facility_id"], r["department_id"]): r for r in got.iter_rows(named=True)
    }
    assert set(have) == set(want)
    assert sum(g["late"] for g in want.values()) > 0  # the data has late charges
    for key, group in want.items():
        lags = sorted(group["lags"])
        n = len(lags)
        row = have[key]
        assert row["charge_lines"] == n, key
        assert row["charge_lag_days_total"] == sum(lags), key
        assert row["avg_charge_lag_days"] == pytest.approx(sum(lags) / n, rel=1e-12), key
        # nearest rank: the ceil(0.9 n)-th smallest lag
        assert row["p90_charge_lag_days"] == lags[(9 * n + 9) // 10 - 1], key
        assert row["max_charge_lag_days"] == lags[-1], key
        assert row["charge_lines_late"] == group["late"], key
        assert row["late_charge_rate"] == pytest.approx(group["late"] / n, rel=1e-12), key
        assert row["charges"] == group["charges"], key
        assert row["late_charge_amount"] == group["late_$"], key


def _query_frame(warehouse: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return pl.from_arrow(con.sql(sql).to_arrow_table())
    finally:
        con.close()
