"""The one-screen summary `rcm nightly` ends with (also the run's Prefect artifact).

Counts, durations and paths only: never a row's contents.
"""

from __future__ import annotations

from rcm.ops.run_log import RunRecord, _now, pending_path

_STATUSES = ("loaded", "duplicate", "quarantined", "failed")


def summary_lines(run: RunRecord) -> list[str]:
    seconds = (_now() - run.started_at).total_seconds()
    lines = [f"rcm nightly {run.run_id}: {run.status} in {seconds:.1f} s"]
    if run.error:
        lines.append(f"  failed at {run.failed_stage}: {run.error}")
    extracts = sorted({extract for extract, _ in run.files})
    if not run.files and run.status == "success":
        lines.append("  nothing new: no new landing files, models current; warehouse unchanged")
        lines.append(f"  run recorded in {pending_path(run.warehouse).name} until the next load")
    if extracts:
        lines.append(f"  {'files':<14}" + "".join(f"{s:>13}" for s in _STATUSES))
        for extract in extracts:
            counts = "".join(f"{run.files[(extract, s)]:>13,}" for s in _STATUSES)
            lines.append(f"  {extract:<14}{counts}")
        lines.append(
            f"  rows          {run.rows_loaded:>13,} loaded {run.rows_quarantined:>8,} quarantined"
        )
    failed = run.expectations_failed
    if run.files:
        lines.append(
            f"  expectations  {failed['critical']:,} critical and {failed['warning']:,} warning "
            "failures (details in ops.validation_results and the Data Docs)"
        )
    if run.dbt:
        d = run.dbt
        lines.append(
            f"  dbt           {d['models_passed']:,} models ok, {d['models_failed']:,} failed; "
            f"{d['tests_passed']:,} tests ok, {d['tests_failed']:,} failed, "
            f"{d['tests_warned']:,} warned; {d['skipped']:,} skipped"
        )
    if run.stage_seconds:
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in run.stage_seconds.items())
        lines.append(f"  stages        {stages}")
    lines.append(f"  warehouse     {run.warehouse}")
    for name, path in run.reports.items():
        lines.append(f"  report {name:<6} {path}")
    return lines
