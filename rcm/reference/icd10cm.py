"""The ICD-10-CM code set, read from the release shipped by `simple_icd_10_cm` (no download)."""

from __future__ import annotations

from functools import lru_cache

import polars as pl

RELEASE = "ICD-10-CM April 1, 2026 (simple_icd_10_cm tabular list)"


@lru_cache(maxsize=1)
def billable_codes() -> tuple[str, ...]:
    """All billable (leaf) ICD-10-CM codes, without dots, sorted."""
    import simple_icd_10_cm as icd

    # Block names such as "C00-C96" can be leaves; a few codes (B20, F99, R99, Z66) are both
    # a one-category block and a billable category, so they appear twice in the listing.
    return tuple(
        sorted({code for code in icd.get_all_codes(False) if "-" not in code and icd.is_leaf(code)})
    )


@lru_cache(maxsize=1)
def header_codes() -> tuple[str, ...]:
    """Categories and subcategories that have children: valid items, never billable."""
    import simple_icd_10_cm as icd

    return tuple(
        sorted(
            {
                code
                for code in icd.get_all_codes(False)
                if "-" not in code
                and not icd.is_leaf(code)
                and icd.is_category_or_subcategory(code)
            }
        )
    )


def code_table() -> pl.DataFrame:
    """The code set as a table for `ref.icd10cm`: code, description, is_billable, release."""
    import simple_icd_10_cm as icd

    billable = billable_codes()
    headers = header_codes()
    codes = list(billable) + list(headers)
    return pl.DataFrame(
        {
            "icd10cm_code": codes,
            "description": [icd.get_description(code) for code in codes],
            "is_billable": [True] * len(billable) + [False] * len(headers),
        }
    ).with_columns(pl.lit(RELEASE).alias("release"))
