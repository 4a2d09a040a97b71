"""What the models were last built from, so a night with nothing new can skip the build.

`ops.build_state` holds one fingerprint per part of the build: a hash of the dbt project
(models, macros, tests, seeds, project file) and of the versions of the packages the build
reads (this package, dbt-core, dbt-duckdb, the ICD-10-CM release). A night with no new
landing files whose fingerprint equals the published one has nothing to load or rebuild.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import duckdb

BUILD_STATE_DDL = """
create table if not exists ops.build_state (
    name varchar primary key,
    fingerprint varchar not null,
    run_id varchar,
    updated_at timestamp default current_timestamp
)
"""
_PACKAGES = ("rcm-analytics", "dbt-core", "dbt-duckdb", "duckdb", "simple_icd_10_cm")
_PROJECT_PARTS = ("dbt_project.yml", "models", "macros", "data-tests", "seeds", "tests")


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


def models_fingerprint(dbt_project_dir: Path, seed_dirs: tuple[Path, ...] = ()) -> str:
    """sha256 over the dbt project's source files, seed folders and the packages' versions."""
    digest = hashlib.sha256()
    files: list[Path] = []
    for part in _PROJECT_PARTS:
        path = dbt_project_dir / part
        files += [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for folder in seed_dirs:
        files += sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        digest.update(str(path.name).encode() + b"\0" + path.read_bytes() + b"\0")
    for name in _PACKAGES:
        digest.update(f"{name}=={_package_version(name)}\n".encode())
    return digest.hexdigest()


def read_fingerprint(con: duckdb.DuckDBPyConnection, name: str = "models") -> str | None:
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'ops' "
        "and table_name = 'build_state' and database_name = current_database()"
    ).fetchone()[0]
    if not exists:
        return None
    row = con.execute("select fingerprint from ops.build_state where name = ?", [name]).fetchone()
    return row[0] if row else None


def write_fingerprint(
    con: duckdb.DuckDBPyConnection, fingerprint: str, run_id: str, name: str = "models"
) -> None:
    con.execute("create schema if not exists ops")
    con.execute(BUILD_STATE_DDL)
    con.execute(
        "insert or replace into ops.build_state (name, fingerprint, run_id, updated_at) "
        "values (?, ?, ?, current_timestamp)",
        [name, fingerprint, run_id],
    )
