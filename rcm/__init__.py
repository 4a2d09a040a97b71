"""Revenue-cycle analytics: extracts and X12 835 remittances into a DuckDB warehouse."""

__version__ = "0.1.0"
