"""Reference data shipped with the package: ICD-10-CM code set, payers, facilities, CARCs."""

from __future__ import annotations

from functools import cache
from importlib import resources

import polars as pl


def data_path(name: str):
    """Path of a CSV shipped in rcm/reference/data (also used as a dbt seed)."""
    return resources.files("rcm.reference") / "data" / name


@cache
def read_reference(name: str) -> pl.DataFrame:
    """A shipped reference CSV as a polars frame (all columns text unless numeric)."""
    with resources.as_file(data_path(name)) as path:
        return pl.read_csv(path, infer_schema_length=0).with_columns(
            pl.col(c).cast(pl.Float64) for c in _NUMERIC.get(name, ())
        )


_NUMERIC = {
    "payers.csv": ("paid_to_charge_ratio", "remit_lag_days", "patient_share_ratio"),
    "cost_to_charge_ratios.csv": ("cost_to_charge_ratio",),
}
