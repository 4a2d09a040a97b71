"""Operational records of the nightly run (ops schema)."""
