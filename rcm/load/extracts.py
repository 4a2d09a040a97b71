"""The extract contracts (shared contracts, section 1) as column specs the loader types by."""

from __future__ import annotations

from dataclasses import dataclass

LIST = "VARCHAR[]"
MONEY = "DECIMAL(18,2)"


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # type in the warehouse; lists are read as text and split on ';'

    @property
    def is_list(self) -> bool:
        return self.sql_type == LIST

    @property
    def is_integer(self) -> bool:
        return self.sql_type == "INTEGER"

    @property
    def read_type(self) -> str:
        """Type handed to DuckDB's CSV reader.

        Lists arrive as ';'-separated text. Integers arrive as text and are typed after the
        read, because DuckDB's cast rounds '1.5' to 2; a count with a fraction is rejected.
        """
        return "VARCHAR" if self.is_list or self.is_integer else self.sql_type

    @property
    def kind(self) -> str:
        """A value-free word for reasons: 'admit_date: not a date'."""
        return {
            "DATE": "a date (YYYY-MM-DD)",
            "TIMESTAMP": "a timestamp (ISO 8601)",
            MONEY: "a decimal amount",
            "INTEGER": "a whole number",
        }.get(self.sql_type, "text")


@dataclass(frozen=True)
class Extract:
    name: str
    columns: tuple[Column, ...]
    key: str  # the row's identity
    required: tuple[str, ...]  # a file without these header columns cannot be read as the extract
    accepted: dict[str, tuple[str, ...]]  # kept when outside the set, counted as warnings

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _cols(spec: str) -> tuple[Column, ...]:
    out = []
    for line in spec.strip().splitlines():
        name, sql_type = line.split(maxsplit=1)
        out.append(Column(name, sql_type.strip()))
    return tuple(out)


ENCOUNTERS = Extract(
    name="encounters",
    columns=_cols(
        f"""
        encounter_id VARCHAR
        patient_id VARCHAR
        patient_birth_date DATE
        patient_sex VARCHAR
        facility_id VARCHAR
        department_id VARCHAR
        encounter_type VARCHAR
        admit_date DATE
        discharge_date DATE
        attending_npi VARCHAR
        primary_payer_id VARCHAR
        coder_id VARCHAR
        documented_dx_codes {LIST}
        documented_px_codes {LIST}
        note_signed_at TIMESTAMP
        coded_at TIMESTAMP
        final_billed_at TIMESTAMP
        updated_at TIMESTAMP
        """
    ),
    key="encounter_id",
    required=("encounter_id", "updated_at"),
    accepted={
        "patient_sex": ("F", "M", "U"),
        "encounter_type": (
            "inpatient",
            "outpatient",
            "emergency",
            "observation",
            "ambulatory_surgery",
        ),
    },
)

CHARGES = Extract(
    name="charges",
    columns=_cols(
        f"""
        charge_id VARCHAR
        encounter_id VARCHAR
        claim_id VARCHAR
        facility_id VARCHAR
        department_id VARCHAR
        service_date DATE
        posted_date DATE
        cdm_code VARCHAR
        revenue_code VARCHAR
        hcpcs_code VARCHAR
        modifiers {LIST}
        units INTEGER
        billed_dx_codes {LIST}
        charge_amount {MONEY}
        cost_amount {MONEY}
        cost_category VARCHAR
        rendering_npi VARCHAR
        """
    ),
    key="charge_id",
    required=("charge_id", "encounter_id"),
    accepted={
        "cost_category": (
            "supplies",
            "drugs",
            "nursing",
            "surgical_instruments",
            "room_and_board",
            "professional",
            "other",
        ),
    },
)

EXTRACTS: dict[str, Extract] = {e.name: e for e in (ENCOUNTERS, CHARGES)}

# Loader-added columns on every raw and quarantine row (underscore = not from the extract).
META_COLUMNS = (
    ("_load_id", "VARCHAR"),
    ("_source_file", "VARCHAR"),
    ("_source_line", "BIGINT"),
    ("_row_number", "BIGINT"),
    ("_extra", "MAP(VARCHAR, VARCHAR)"),
)
