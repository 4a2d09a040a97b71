"""Prefect flows: thin run books that compose the `rcm` package's steps."""
