"""Serve the nightly flow on its schedule from one long-running process (no work pool, no worker).

    python -m flows.serve          # from the checkout, with PREFECT_API_URL set to a server

The alternative to `prefect deploy` + `prefect worker start` (docs/operations.md). The
schedule, parameters, tags and description are read from the `nightly` deployment in
prefect.yaml, so both ways run the same deployment, `rcm-nightly/nightly`: serving it takes
the deployment over (it is then run by this process, not by a work pool), and stopping this
process pauses its schedule until it is served or deployed again. Flow runs are child
processes started in the checkout, so relative parameters resolve as they do for a worker.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PREFECT_YAML = ROOT / "prefect.yaml"
DEPLOYMENT = "nightly"


def deployment_config(path: Path = PREFECT_YAML, name: str = DEPLOYMENT) -> dict[str, Any]:
    """The named deployment's entry in prefect.yaml."""
    config = yaml.safe_load(path.read_text())
    for deployment in config.get("deployments") or []:
        if deployment.get("name") == name:
            return deployment
    raise SystemExit(f"{path}: no deployment named {name!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--limit", type=int, default=1, help="flow runs at a time (default 1: one writer)"
    )
    args = parser.parse_args(argv)

    from prefect.schedules import Cron

    from flows.nightly import nightly

    config = deployment_config()
    schedules = [
        Cron(s["cron"], timezone=s.get("timezone"), active=s.get("active", True))
        for s in config.get("schedules") or []
    ]
    os.chdir(ROOT)  # runs start here: the entrypoint and relative parameters resolve from it
    nightly.serve(
        name=config["name"],
        schedules=schedules,
        parameters=config.get("parameters") or {},
        tags=config.get("tags"),
        description=config.get("description"),
        limit=args.limit,
    )


if __name__ == "__main__":
    main()
