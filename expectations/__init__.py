"""Great Expectations suites, one module per extract; the Python here is the source of truth.

Each suite module exposes the same small interface, used by :mod:`rcm.validate`:

``EXTRACT``, ``SUITE_NAME``
    the extract it guards and the name the suite is registered under;
``REQUIRED_COLUMNS``
    contract columns that must be present in the batch;
``check_columns(column_types)``
    derived boolean columns (``chk_*``: TRUE = row passes, NULL = not applicable) that the
    runner adds to the batch query, for rules GX cannot express on DuckDB (regex, NPI check
    digit, code lists, cross-column dates, ranges over text columns);
``build_suite(related_tables)``
    the :class:`great_expectations.ExpectationSuite`; every expectation carries a severity:
    ``critical`` quarantines the batch, ``warning`` flags it.
"""

from __future__ import annotations

from types import ModuleType

from expectations import charges, encounters, remittances

SUITES: dict[str, ModuleType] = {
    encounters.EXTRACT: encounters,
    charges.EXTRACT: charges,
    remittances.EXTRACT: remittances,
}

__all__ = ["SUITES", "charges", "encounters", "remittances"]
