"""`rcm generate`: a synthetic hospital system that knows its own truth.

The world (facilities, payers, coders, chargemaster) is simulated in memory with polars,
cut as of the window's last day, and written as the nightly landing folder of
`contracts.md` §1 plus `truth.json`: the injected rates and the expected values at the
mart grains, computed from the injected labels (never from the warehouse's SQL).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from rcm.errors import RcmError
from rcm.generate.clinical import simulate_clinical
from rcm.generate.config import DEFAULT_CONFIG
from rcm.generate.extracts import CHARGE_COLUMNS, ENCOUNTER_COLUMNS, write_daily_csv
from rcm.generate.remit import RemitConfig, simulate_remittances
from rcm.generate.truth import build_truth
from rcm.generate.world import build_world
from rcm.generate.x12 import write_835_files

__all__ = ["GenerateSummary", "generate"]


@dataclass
class GenerateSummary:
    """What one `rcm generate` wrote, with stage timings in seconds."""

    out: Path
    encounters: int
    encounter_rows: int
    charge_lines: int
    claims: int
    remitted_claims: int
    files: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        total = sum(self.seconds.values())
        return (
            f"wrote {self.out}: {self.encounters:,} encounters ({self.encounter_rows:,} rows in "
            f"{self.files['encounters']} files), {self.charge_lines:,} charge lines in "
            f"{self.files['charges']} files, {self.remitted_claims:,} remittance claims in "
            f"{self.files['remittances']} 835 files, truth.json; {total:.1f} s"
        )


def generate(
    out: Path,
    *,
    encounters: int = 1000,
    seed: int = 42,
    start_date: dt.date = dt.date(2026, 1, 1),
    days: int = 90,
) -> GenerateSummary:
    """Write a landing folder (encounters/, charges/, remittances/) and truth.json into `out`."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise RcmError(f"{out} is not empty; generate into a new or empty folder")
    if encounters <= 0 or days <= 0:
        raise RcmError("--encounters and --days must be positive")
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = round(now - clock, 3)
        clock = now

    world = build_world(seed)
    clinical = simulate_clinical(world, encounters, seed, start_date, days, DEFAULT_CONFIG)
    lap("clinical")
    remit_config = RemitConfig()
    remits = simulate_remittances(
        world, clinical.claims, clinical.claim_lines, seed, start_date, days, remit_config
    )
    lap("remittances")

    out.mkdir(parents=True, exist_ok=True)
    encounter_files = write_daily_csv(
        clinical.encounter_versions, out / "encounters", "encounters", ENCOUNTER_COLUMNS
    )
    charge_files = write_daily_csv(
        clinical.charges,
        out / "charges",
        "charges",
        CHARGE_COLUMNS,
        money=("charge_amount", "cost_amount"),
    )
    lap("write_csv")
    era_files = write_835_files(remits, out, seed=seed)
    lap("write_835")

    truth = build_truth(
        world=world,
        clinical=clinical,
        remittances=remits,
        remit_config=remit_config,
        parameters={
            "encounters": encounters,
            "seed": seed,
            "start_date": start_date.isoformat(),
            "days": days,
            "end_date": clinical.end_date.isoformat(),
        },
    )
    truth["files"] = {
        "encounters": len(encounter_files),
        "charges": len(charge_files),
        "remittances": len(era_files),
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    lap("truth")

    return GenerateSummary(
        out=out,
        encounters=clinical.latest_encounters().height,
        encounter_rows=clinical.encounter_versions.height,
        charge_lines=clinical.charges.height,
        claims=clinical.claims.height,
        remitted_claims=remits.claims.height,
        files=truth["files"],
        seconds=seconds,
    )


def _frame_rows(frame: pl.DataFrame) -> list[dict]:
    """Rows of a truth frame as JSON-ready dicts (dates as ISO strings)."""
    return frame.with_columns(pl.col(pl.Date).dt.strftime("%Y-%m-%d")).to_dicts()
