"""Write the generator's encounter and charge frames as the nightly CSV extracts (contracts §1)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from rcm.load.extracts import EXTRACTS

# the column order of contracts.md section 1, from the one spec the loader also types by
ENCOUNTER_COLUMNS = EXTRACTS["encounters"].names
CHARGE_COLUMNS = EXTRACTS["charges"].names


def cents_to_decimal_text(column: str | pl.Expr) -> pl.Expr:
    """Integer cents as a US-dollar decimal string with two places ("-0.05", "1234.50")."""
    cents = pl.col(column) if isinstance(column, str) else column
    magnitude = cents.abs()
    text = pl.concat_str(
        pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (magnitude // 100).cast(pl.String),
        pl.lit("."),
        (magnitude % 100).cast(pl.String).str.zfill(2),
    )
    return pl.when(cents.is_null()).then(None).otherwise(text)


def _as_text(frame: pl.DataFrame, money: tuple[str, ...]) -> pl.DataFrame:
    """Format every column as the extract text: lists joined by ';', ISO dates and timestamps."""
    exprs = []
    for name, dtype in frame.schema.items():
        if name in money:
            exprs.append(cents_to_decimal_text(name).alias(name))
        elif isinstance(dtype, pl.List):
            exprs.append(pl.col(name).list.join(";").alias(name))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%S").alias(name))
        elif dtype == pl.Date:
            exprs.append(pl.col(name).dt.strftime("%Y-%m-%d").alias(name))
        else:
            exprs.append(pl.col(name).cast(pl.String).alias(name))
    return frame.select(exprs)


def write_daily_csv(
    frame: pl.DataFrame,
    folder: Path,
    prefix: str,
    columns: tuple[str, ...],
    money: tuple[str, ...] = (),
) -> list[Path]:
    """One CSV per `file_date`: `<folder>/<prefix>_YYYY-MM-DD.csv`, contract columns in order.

    `money` names Int64 cent columns written as decimal dollars. Empty fields are nulls.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if frame.height == 0:
        return written
    # one sort and one text conversion for all days, then zero-copy slices per day
    ordered = frame.select("file_date", *columns).sort("file_date", maintain_order=True)
    days = ordered.group_by("file_date", maintain_order=True).len()
    text = _as_text(ordered.drop("file_date"), money)
    offset = 0
    for file_date, rows in days.iter_rows():
        assert isinstance(file_date, dt.date)
        path = folder / f"{prefix}_{file_date.isoformat()}.csv"
        text.slice(offset, rows).write_csv(path, null_value="")
        written.append(path)
        offset += rows
    return written
