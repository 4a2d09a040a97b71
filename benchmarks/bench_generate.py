"""Benchmark `rcm generate`: wall time per stage, CPU time and peak RSS at a given size.

    python benchmarks/bench_generate.py --encounters 1000000 [--out DIR] [--keep]

Prints one Markdown table row for docs/benchmarks.md. The output folder is removed unless
--keep is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from rcm.generate import generate

    out = args.out or Path(tempfile.mkdtemp(prefix="bench-generate-")) / "landing"
    load_before = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    summary = generate(out, encounters=args.encounters, seed=args.seed, days=args.days)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    stages = ", ".join(f"{k} {v:.1f}" for k, v in summary.seconds.items())
    print(
        f"| {dt.date.today()} | {args.encounters:,} | {summary.charge_lines:,} | "
        f"{summary.remitted_claims:,} | {size_mb:,.0f} MB | {wall:.1f} s | {cpu:.1f} s | "
        f"{peak_gib:.1f} GiB | {stages} | {load_before:.1f} |"
    )
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    if not args.keep and args.out is None:
        shutil.rmtree(out.parent)


if __name__ == "__main__":
    main()
