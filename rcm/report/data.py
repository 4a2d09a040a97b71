"""Read the published warehouse for the finance report: the month's aggregates, read-only.

Everything here comes from the marts (aggregates) and from `ops` / `quarantine` counts and
reasons; no patient-level column is ever selected (the report is PHI-free by construction).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from rcm.errors import RcmError
from rcm.report.formatting import divide, money

#: the marts of the contract, in the order the report and the workbook present them
MARTS = (
    "denial_rates",
    "denials_by_reason",
    "coding_accuracy",
    "documentation_gaps",
    "facility_cost_burden",
)
TREND_MONTHS = 12  # months shown in trend charts, the report month included
HFMA_MONTHS = 3  # the HFMA initial denial rate averages the 3 months before the report month

RUNS_SHOWN = 10  # the last rows of ops.run_log
#: ops.run_log columns shown when the warehouse has them (older warehouses lack the later ones)
RUN_LOG_COLUMNS = (
    "run_id", "started_at", "finished_at", "status", "files_loaded", "files_duplicate",
    "files_quarantined", "files_failed", "rows_loaded", "rows_quarantined",
    "dbt_tests_failed", "seconds", "failed_stage", "error",
)  # fmt: skip

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> dt.date:
    """'2026-02' -> 2026-02-01; anything else is a one-line RcmError."""
    found = _MONTH.match(text.strip())
    if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1900:
        raise RcmError(f"--month must be YYYY-MM (e.g. 2026-02), got {text!r}")
    return dt.date(int(found.group(1)), int(found.group(2)), 1)


def add_months(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def connect_read_only(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """The published warehouse, opened read-only; a one-line RcmError when it cannot be."""
    if not warehouse.is_file():
        raise RcmError(f"warehouse not found: {warehouse} (build it with `rcm nightly`)")
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RcmError(f"cannot open {warehouse} read-only: {first}") from exc
    missing = [m for m in MARTS if not has_table(con, "marts", m)]
    if missing:
        con.close()
        raise RcmError(
            f"{warehouse} has no marts.{missing[0]}: not a built warehouse (run `rcm nightly`)"
        )
    return con


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def columns_of(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    ]


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def months_with_data(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    union = " union ".join(f"select distinct month from marts.{m}" for m in MARTS)
    return sorted(r[0] for r in con.execute(union).fetchall() if r[0] is not None)


class EmptyMarts(RcmError):
    """The marts have no month with data yet (e.g. a first night whose every file was
    quarantined): there is nothing to report."""


def resolve_month(con: duckdb.DuckDBPyConnection, month: str | None) -> dt.date:
    """The requested month (YYYY-MM), else the latest month with data in any mart."""
    available = months_with_data(con)
    if not available:
        raise EmptyMarts(
            "the marts are empty: nothing to report (load extracts with `rcm nightly`)"
        )
    if month is None:
        return available[-1]
    wanted = parse_month(month)
    if wanted not in available:
        raise RcmError(
            f"no data for {wanted:%Y-%m} in the marts; months with data: "
            f"{available[0]:%Y-%m} to {available[-1]:%Y-%m}"
        )
    return wanted


# ------------------------------------------------------------------------------ labels


@dataclass
class Labels:
    """Display names from `ref` (payers, facilities, departments); ids when unknown."""

    payers: dict[str, tuple[str, str]] = field(default_factory=dict)  # 835 id -> (code, name)
    facilities: dict[str, str] = field(default_factory=dict)
    departments: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> Labels:
        labels = cls()
        if has_table(con, "ref", "payers"):
            for r in rows(con, "select payer_id, payer_name, payer_identifier from ref.payers"):
                # the marts' payer_id is N104 (the identifier), else N102 (the name, any case)
                for key in (r["payer_identifier"], r["payer_id"], r["payer_name"]):
                    if key:
                        labels.payers[str(key).upper()] = (r["payer_id"], r["payer_name"])
        if has_table(con, "ref", "facilities"):
            labels.facilities = dict(
                con.execute("select facility_id, facility_name from ref.facilities").fetchall()
            )
        if has_table(con, "ref", "departments"):
            labels.departments = dict(
                con.execute("select department_id, department_name from ref.departments").fetchall()
            )
        return labels

    def payer_code(self, payer_id: str | None) -> str:
        if payer_id is None:
            return "Unknown payer"
        return self.payers.get(payer_id.upper(), (payer_id, payer_id))[0]

    def payer_name(self, payer_id: str | None) -> str:
        if payer_id is None:
            return "Unknown payer"
        return self.payers.get(payer_id.upper(), (payer_id, payer_id))[1]

    def facility(self, facility_id: str | None) -> str:
        if facility_id is None:
            return "No charge lines (unmatched claims)"
        return self.facilities.get(facility_id, facility_id)

    def department(self, department_id: str | None) -> str:
        if department_id is None:
            return "Unknown department"
        return self.departments.get(department_id, department_id)


GAP_TYPES = {
    "unsupported_charge": "Unsupported charge",
    "missed_charge": "Missed charge",
    "unsigned_note": "Unsigned note",
    "missing_element": "Missing element",
    "late_charge": "Late charge",
}

DENIAL_CATEGORIES = {
    "eligibility_registration": "Eligibility / registration",
    "coordination_of_benefits_wrong_payer": "Coordination of benefits / wrong payer",
    "authorization": "Authorization",
    "medical_necessity": "Medical necessity",
    "coding_billing": "Coding / billing",
    "missing_information": "Missing information",
    "documentation": "Documentation",
    "duplicate": "Duplicate claim",
    "timely_filing": "Timely filing",
    "bundling_ncci": "Bundling / NCCI",
    "non_covered_benefit_limit": "Non-covered / benefit limits",
    "credentialing_network": "Credentialing / network",
    "uncategorized": "Uncategorized",
}


def category_label(category: str | None) -> str:
    if not category:
        return "Uncategorized"
    return DENIAL_CATEGORIES.get(category, category.replace("_", " ").capitalize())


# ------------------------------------------------------------------------------ figures


@dataclass
class Kpi:
    """One headline figure: this month, the prior month, and how it compares."""

    key: str
    label: str
    value: Any
    prior: Any
    kind: str  # rate | money
    note: str = ""
    benchmark: str = ""
    status: str = "neutral"  # good | watch | bad | neutral
    higher_is_better: bool = False

    @property
    def change(self) -> Any:
        if self.value is None or self.prior is None:
            return None
        return self.value - self.prior

    @property
    def trend(self) -> str:
        """'better' / 'worse' / 'flat' / '' for the change against the prior month."""
        change = self.change
        if change is None:
            return ""
        if abs(float(change)) < (0.0005 if self.kind == "rate" else 0.5):
            return "flat"
        return "better" if (change > 0) == self.higher_is_better else "worse"


@dataclass
class ReportData:
    warehouse: Path
    month: dt.date
    prior_month: dt.date
    months: list[dt.date]  # with data, up to the report month
    trend_months: list[dt.date]
    data_as_of: dt.datetime | None
    kpis: list[Kpi]
    denial_trend: list[dict]  # month x payer
    denial_payers: list[dict]  # report month by payer (+ prior month rate)
    denial_categories: list[dict]
    coders: list[dict]
    gaps: list[dict]  # department x gap type (report month)
    gap_departments: list[dict]  # department pivot with one column per gap type
    gap_totals: dict[str, Any]
    cost_facilities: list[dict]
    cost_departments: list[dict]
    quality: dict[str, Any]
    totals: dict[str, dict[str, Any] | int] = field(default_factory=dict)


def _denial_totals(con, first: dt.date, last: dt.date) -> dict:
    return rows(
        con,
        """
        select
            coalesce(sum(claims_remitted), 0) as claims_remitted,
            coalesce(sum(claims_denied), 0) as claims_denied,
            sum(charges_remitted) as charges_remitted,
            sum(charges_denied) as charges_denied,
            coalesce(sum(claims_overturned), 0) as claims_overturned,
            sum(overturned_amount) as overturned_amount
        from marts.denial_rates
        where month between ? and ?
        """,
        [first, last],
    )[0]


def _coding_totals(con, month: dt.date) -> dict:
    return rows(
        con,
        """
        select
            coalesce(sum(encounters_coded), 0) as encounters_coded,
            coalesce(sum(encounters_accurate), 0) as encounters_accurate,
            coalesce(sum(codes_correct), 0) as codes_correct,
            coalesce(sum(codes_compared), 0) as codes_compared
        from marts.coding_accuracy
        where month = ?
        """,
        [month],
    )[0]


def _gap_total(con, month: dt.date) -> dict:
    return rows(
        con,
        """
        select sum(dollars_at_risk) as dollars, coalesce(sum(occurrences), 0) as occurrences
        from marts.documentation_gaps where month = ?
        """,
        [month],
    )[0]


def _cost_totals(con, month: dt.date) -> dict:
    return rows(
        con,
        """
        select sum(charges) as charges, sum(cost) as cost, sum(payments) as payments
        from marts.facility_cost_burden where month = ?
        """,
        [month],
    )[0]


def _margin(totals: dict) -> Decimal | None:
    if totals["payments"] is None and totals["cost"] is None:
        return None
    return (totals["payments"] or Decimal(0)) - (totals["cost"] or Decimal(0))


def _denial_status(value: float | None) -> tuple[str, str]:
    if value is None:
        return "neutral", "No claims adjudicated"
    if value < 0.05:
        return "good", "Better than the 5% goal"
    if value <= 0.10:
        return "watch", "Within the typical 5\u201310% range"
    return "bad", "Above the typical 5\u201310% range"


def _coding_status(value: float | None) -> tuple[str, str]:
    if value is None:
        return "neutral", "No encounters coded"
    if value >= 0.97:
        return "good", "At the leading-program level (\u226597%)"
    if value >= 0.95:
        return "good", "Meets the 95% minimum"
    return "bad", "Below the 95% minimum"


def _kpis(con, month: dt.date, prior: dt.date) -> list[Kpi]:
    now, before = _denial_totals(con, month, month), _denial_totals(con, prior, prior)
    hfma = _denial_totals(con, add_months(month, -HFMA_MONTHS), prior)
    idr = divide(now["claims_denied"], now["claims_remitted"])
    idr_prior = divide(before["claims_denied"], before["claims_remitted"])
    status, verdict = _denial_status(idr)
    hfma_rate = divide(hfma["claims_denied"], hfma["claims_remitted"])
    hfma_note = (
        f"HFMA 3-month average (prior 3 months): {hfma_rate:.1%}"
        if hfma_rate is not None
        else "HFMA 3-month average: no claims in the prior 3 months"
    )
    dollars = divide(now["charges_denied"], now["charges_remitted"])
    code_now, code_before = _coding_totals(con, month), _coding_totals(con, prior)
    code_rate = divide(code_now["codes_correct"], code_now["codes_compared"])
    code_status, code_verdict = _coding_status(code_rate)
    enc_rate = divide(code_now["encounters_accurate"], code_now["encounters_coded"])
    enc_status, enc_verdict = _coding_status(enc_rate)
    gaps_now, gaps_before = _gap_total(con, month), _gap_total(con, prior)
    cost_now, cost_before = _cost_totals(con, month), _cost_totals(con, prior)
    margin_now = _margin(cost_now)
    margin_status = "neutral" if margin_now is None else ("good" if margin_now >= 0 else "bad")
    return [
        Kpi(
            "initial_denial_rate",
            "Initial denial rate",
            idr,
            idr_prior,
            "rate",
            note=f"{now['claims_denied']:,} of {now['claims_remitted']:,} claims denied on "
            f"first adjudication. {hfma_note}.",
            benchmark=f"Industry 5\u201310%, goal under 5%. {verdict}.",
            status=status,
        ),
        Kpi(
            "denial_rate_dollars",
            "Denied charges",
            now["charges_denied"],
            before["charges_denied"],
            "money",
            note=(
                f"{dollars:.1%} of charges remitted (denial rate in dollars)."
                if dollars is not None
                else "No charges remitted."
            ),
            benchmark=f"{now['claims_overturned']:,} denied claims overturned so far.",
        ),
        Kpi(
            "code_accuracy_rate",
            "Coding accuracy (codes)",
            code_rate,
            divide(code_before["codes_correct"], code_before["codes_compared"]),
            "rate",
            note=f"{code_now['codes_correct']:,} of {code_now['codes_compared']:,} codes correct "
            "(code-over-code).",
            benchmark=f"Minimum 95%, leading programs \u226597%. {code_verdict}.",
            status=code_status,
            higher_is_better=True,
        ),
        Kpi(
            "encounter_accuracy_rate",
            "Coding accuracy (encounters)",
            enc_rate,
            divide(code_before["encounters_accurate"], code_before["encounters_coded"]),
            "rate",
            note=f"{code_now['encounters_accurate']:,} of {code_now['encounters_coded']:,} coded "
            "encounters error-free (case-over-case).",
            benchmark=f"Minimum 95%. {enc_verdict}.",
            status=enc_status,
            higher_is_better=True,
        ),
        Kpi(
            "documentation_gap_dollars",
            "Documentation gaps at risk",
            gaps_now["dollars"],
            gaps_before["dollars"],
            "money",
            note=f"{gaps_now['occurrences']:,} gap occurrences (unsupported, missed, late "
            "charges; unsigned notes; missing elements).",
        ),
        Kpi(
            "margin",
            "Margin (payments \u2212 cost)",
            margin_now,
            _margin(cost_before),
            "money",
            note=(
                f"Payments to date {money(cost_now['payments'], cents=False)} against cost "
                f"{money(cost_now['cost'], cents=False)} on charges of "
                f"{money(cost_now['charges'], cents=False)}; recent months fill in as "
                "remittances arrive."
            ),
            status=margin_status,
            higher_is_better=True,
        ),
    ]


def _denial_sections(con, labels: Labels, month: dt.date, prior: dt.date, first: dt.date):
    trend = rows(
        con,
        """
        select
            month,
            payer_id,
            sum(claims_remitted) as claims_remitted,
            sum(claims_denied) as claims_denied
        from marts.denial_rates
        where month between ? and ?
        group by all
        order by all
        """,
        [first, month],
    )
    for r in trend:
        r["payer"] = labels.payer_code(r["payer_id"])
        r["initial_denial_rate"] = divide(r["claims_denied"], r["claims_remitted"])
    payers = rows(
        con,
        """
        select
            payer_id,
            sum(claims_remitted) filter (where month = ?) as claims_remitted,
            sum(claims_denied) filter (where month = ?) as claims_denied,
            sum(claims_denied_full) filter (where month = ?) as claims_denied_full,
            sum(claims_denied_partial) filter (where month = ?) as claims_denied_partial,
            sum(charges_remitted) filter (where month = ?) as charges_remitted,
            sum(charges_denied) filter (where month = ?) as charges_denied,
            sum(claims_overturned) filter (where month = ?) as claims_overturned,
            sum(overturned_amount) filter (where month = ?) as overturned_amount,
            sum(claims_remitted) filter (where month = ?) as prior_claims_remitted,
            sum(claims_denied) filter (where month = ?) as prior_claims_denied
        from marts.denial_rates
        where month in (?, ?)
        group by payer_id
        """,
        [month] * 8 + [prior] * 2 + [month, prior],
    )
    for r in payers:
        r["payer"] = labels.payer_code(r["payer_id"])
        r["payer_name"] = labels.payer_name(r["payer_id"])
        r["initial_denial_rate"] = divide(r["claims_denied"], r["claims_remitted"])
        r["denial_rate_dollars"] = divide(r["charges_denied"], r["charges_remitted"])
        r["prior_rate"] = divide(r["prior_claims_denied"], r["prior_claims_remitted"])
    payers.sort(key=lambda r: (-(r["claims_remitted"] or 0), r["payer"]))
    categories = rows(
        con,
        """
        select
            denial_category,
            sum(lines_denied) as lines_denied,
            sum(claims_denied) as claim_reasons,
            sum(dollars_denied) as dollars_denied,
            string_agg(distinct carc_group || '-' || carc_code, ', '
                order by carc_group || '-' || carc_code) as carcs
        from marts.denials_by_reason
        where month = ?
        group by denial_category
        order by dollars_denied desc nulls last, denial_category
        """,
        [month],
    )
    total = sum((r["dollars_denied"] or Decimal(0) for r in categories), Decimal(0))
    for r in categories:
        r["category"] = category_label(r["denial_category"])
        r["share"] = divide(r["dollars_denied"], total)
    return trend, payers, categories


def _coders(con, month: dt.date, prior: dt.date) -> list[dict]:
    coders = rows(
        con,
        """
        select
            coder_id,
            string_agg(distinct facility_id, ', ' order by facility_id)
                filter (where month = ?) as facilities,
            sum(encounters_coded) filter (where month = ?) as encounters_coded,
            sum(encounters_accurate) filter (where month = ?) as encounters_accurate,
            sum(codes_billed) filter (where month = ?) as codes_billed,
            sum(codes_invalid) filter (where month = ?) as codes_invalid,
            sum(codes_unsupported) filter (where month = ?) as codes_unsupported,
            sum(codes_missed) filter (where month = ?) as codes_missed,
            sum(codes_correct) filter (where month = ?) as codes_correct,
            sum(codes_compared) filter (where month = ?) as codes_compared,
            sum(codes_correct) filter (where month = ?) as prior_codes_correct,
            sum(codes_compared) filter (where month = ?) as prior_codes_compared
        from marts.coding_accuracy
        where month in (?, ?)
        group by coder_id
        having sum(encounters_coded) filter (where month = ?) > 0
        """,
        [month] * 9 + [prior] * 2 + [month, prior, month],
    )
    for r in coders:
        r["coder"] = r["coder_id"] or "(no coder)"
        r["code_accuracy_rate"] = divide(r["codes_correct"], r["codes_compared"])
        r["encounter_accuracy_rate"] = divide(r["encounters_accurate"], r["encounters_coded"])
        r["prior_rate"] = divide(r["prior_codes_correct"], r["prior_codes_compared"])
        r["below"] = r["code_accuracy_rate"] is not None and r["code_accuracy_rate"] < 0.95
    coders.sort(key=lambda r: (r["code_accuracy_rate"] is None, r["code_accuracy_rate"] or 0))
    return coders


def _gaps(con, labels: Labels, month: dt.date):
    gaps = rows(
        con,
        """
        select
            facility_id,
            department_id,
            gap_type,
            sum(occurrences) as occurrences,
            sum(encounters_affected) as encounters_affected,
            sum(charge_lines) as charge_lines,
            sum(dollars_at_risk) as dollars_at_risk,
            sum(occurrences_unpriced) as occurrences_unpriced
        from marts.documentation_gaps
        where month = ?
        group by all
        order by all
        """,
        [month],
    )
    departments: dict[tuple, dict] = {}
    totals: dict[str, Any] = {t: Decimal(0) for t in GAP_TYPES} | {"total": Decimal(0)}
    totals["occurrences"] = 0
    for r in gaps:
        r["department"] = labels.department(r["department_id"])
        r["gap"] = GAP_TYPES.get(r["gap_type"], r["gap_type"])
        key = (r["facility_id"], r["department_id"])
        row = departments.setdefault(
            key,
            {
                "facility_id": r["facility_id"],
                "department_id": r["department_id"],
                "department": r["department"],
                "occurrences": 0,
                "total": Decimal(0),
            }
            | {t: None for t in GAP_TYPES},
        )
        dollars = r["dollars_at_risk"]
        if dollars is not None:
            row[r["gap_type"]] = (row[r["gap_type"]] or Decimal(0)) + dollars
            row["total"] += dollars
            totals[r["gap_type"]] = totals.get(r["gap_type"], Decimal(0)) + dollars
            totals["total"] += dollars
        row["occurrences"] += r["occurrences"] or 0
        totals["occurrences"] += r["occurrences"] or 0
    pivot = sorted(departments.values(), key=lambda d: (-d["total"], d["department_id"] or ""))
    return gaps, pivot, totals


def _cost(con, labels: Labels, month: dt.date):
    def grouped(keys: str) -> list[dict]:
        found = rows(
            con,
            f"""
            select
                {keys},
                sum(charge_lines) as charge_lines,
                sum(charges) as charges,
                sum(cost) as cost,
                sum(payments) as payments,
                sum(charge_lines_uncosted) as charge_lines_uncosted
            from marts.facility_cost_burden
            where month = ?
            group by all
            order by all
            """,
            [month],
        )
        for r in found:
            r["margin"] = _margin(r)
            r["cost_to_charge_ratio"] = divide(r["cost"], r["charges"])
            r["cost_to_payment_ratio"] = divide(r["cost"], r["payments"])
            r["facility"] = labels.facility(r["facility_id"])
            if "department_id" in r:
                r["department"] = labels.department(r["department_id"])
        return found

    return grouped("facility_id"), grouped("facility_id, department_id")


# ------------------------------------------------------------------------------ data quality


def _quality(con) -> dict[str, Any]:
    quality: dict[str, Any] = {
        "manifest": [],
        "quarantine_rows": [],
        "quarantine_files": [],
        "failed_expectations": [],
        "runs": [],
        "expectations_checked": 0,
        "loads_validated": 0,
    }
    if has_table(con, "ops", "load_manifest"):
        quality["manifest"] = rows(
            con,
            """
            select
                extract,
                count(*) as files_seen,
                count(*) filter (where status = 'loaded') as files_loaded,
                count(*) filter (where status = 'duplicate') as files_duplicate,
                count(*) filter (where status = 'quarantined') as files_quarantined,
                count(*) filter (where status = 'failed') as files_failed,
                coalesce(sum(rows_read), 0) as rows_read,
                coalesce(sum(rows_loaded), 0) as rows_loaded,
                coalesce(sum(rows_quarantined), 0) as rows_quarantined,
                max(loaded_at) as last_loaded_at
            from ops.load_manifest
            group by extract
            order by extract
            """,
        )
    if has_table(con, "quarantine", "files"):
        quality["quarantine_files"] = rows(
            con,
            """
            select extract, file_name, reason_code, reason, quarantined_at
            from quarantine.files
            order by quarantined_at desc, file_name
            limit 50
            """,
        )
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'quarantine' and table_name <> 'files' order by 1"
        ).fetchall()
    ]
    parts = []
    for table in tables:
        columns = set(columns_of(con, "quarantine", table))
        if {"reason_code", "reason"} <= columns:
            parts.append(
                f"select '{table}' as source, reason_code, reason, count(*) as row_count "
                f'from quarantine."{table}" group by all'
            )
        else:  # 835 tables of a file quarantined whole: same columns as raw, no reason
            parts.append(
                f"select '{table}' as source, 'file_quarantined' as reason_code, "
                "'the whole file was quarantined (see quarantined files)' as reason, "
                f'count(*) as row_count from quarantine."{table}" having count(*) > 0'
            )
    if parts:
        quality["quarantine_rows"] = rows(
            con, " union all ".join(parts) + " order by row_count desc, source, reason_code"
        )
    if has_table(con, "ops", "validation_results"):
        quality["failed_expectations"] = rows(
            con,
            """
            select
                extract,
                expectation_type,
                column_name,
                severity,
                any_value(description) as description,
                count(distinct load_id) as loads_failed,
                sum(unexpected_count) as unexpected_rows,
                max(run_at) as last_failed_at
            from ops.validation_results
            where not success
            group by extract, expectation_type, column_name, severity
            order by severity, loads_failed desc, extract, expectation_type
            """,
        )
        checked = con.execute(
            "select count(*), count(distinct load_id) from ops.validation_results"
        ).fetchone()
        quality["expectations_checked"], quality["loads_validated"] = checked
    if has_table(con, "ops", "run_log"):
        present = set(columns_of(con, "ops", "run_log"))
        wanted = [c for c in RUN_LOG_COLUMNS if c in present]
        quality["runs"] = [
            dict.fromkeys(RUN_LOG_COLUMNS) | r
            for r in rows(
                con,
                f"select {', '.join(wanted)} from ops.run_log "
                f"order by started_at desc limit {RUNS_SHOWN}",
            )
        ]
    return quality


def _data_as_of(con) -> dt.datetime | None:
    if not has_table(con, "ops", "run_log"):
        return None
    return con.execute(
        "select max(finished_at) from ops.run_log where status = 'success'"
    ).fetchone()[0]


def _sum(items: list[dict], key: str):
    values = [r[key] for r in items if r.get(key) is not None]
    return sum(values[1:], values[0]) if values else None


def _totals(data: ReportData) -> dict[str, Any]:
    """The total rows beneath the tables (ratios of sums, as in the marts)."""
    keys = ("claims_remitted", "claims_denied", "claims_denied_full", "claims_denied_partial",
            "charges_remitted", "charges_denied", "claims_overturned", "overturned_amount",
            "prior_claims_remitted", "prior_claims_denied")  # fmt: skip
    denials = {k: _sum(data.denial_payers, k) for k in keys}
    denials["initial_denial_rate"] = divide(denials["claims_denied"], denials["claims_remitted"])
    denials["denial_rate_dollars"] = divide(denials["charges_denied"], denials["charges_remitted"])
    denials["prior_rate"] = divide(denials["prior_claims_denied"], denials["prior_claims_remitted"])
    categories = {
        k: _sum(data.denial_categories, k)
        for k in ("lines_denied", "claim_reasons", "dollars_denied")
    }
    keys = ("encounters_coded", "encounters_accurate", "codes_billed", "codes_invalid",
            "codes_unsupported", "codes_missed", "codes_correct", "codes_compared",
            "prior_codes_correct", "prior_codes_compared")  # fmt: skip
    coding = {k: _sum(data.coders, k) for k in keys}
    coding["code_accuracy_rate"] = divide(coding["codes_correct"], coding["codes_compared"])
    coding["encounter_accuracy_rate"] = divide(
        coding["encounters_accurate"], coding["encounters_coded"]
    )
    coding["prior_rate"] = divide(coding["prior_codes_correct"], coding["prior_codes_compared"])
    keys = ("charge_lines", "charges", "cost", "payments", "charge_lines_uncosted")
    cost = {k: _sum(data.cost_facilities, k) for k in keys}
    cost["margin"] = _margin(cost)
    cost["cost_to_charge_ratio"] = divide(cost["cost"], cost["charges"])
    cost["cost_to_payment_ratio"] = divide(cost["cost"], cost["payments"])
    keys = ("files_seen", "files_loaded", "files_duplicate", "files_quarantined", "files_failed",
            "rows_read", "rows_loaded", "rows_quarantined")  # fmt: skip
    quality = {k: _sum(data.quality["manifest"], k) or 0 for k in keys}
    return {
        "denials": denials,
        "categories": categories,
        "coding": coding,
        "cost": cost,
        "quality": quality,
        "gaps_unpriced": _sum(data.gaps, "occurrences_unpriced") or 0,
    }


def collect(con: duckdb.DuckDBPyConnection, warehouse: Path, month: dt.date) -> ReportData:
    """Every figure of the report for `month` (the first of the month)."""
    labels = Labels.load(con)
    prior = add_months(month, -1)
    first = add_months(month, -(TREND_MONTHS - 1))
    trend, payers, categories = _denial_sections(con, labels, month, prior, first)
    gaps, gap_departments, gap_totals = _gaps(con, labels, month)
    cost_facilities, cost_departments = _cost(con, labels, month)
    months = [m for m in months_with_data(con) if m <= month]
    data = ReportData(
        warehouse=warehouse,
        month=month,
        prior_month=prior,
        months=months,
        trend_months=[m for m in months if m >= first],
        data_as_of=_data_as_of(con),
        kpis=_kpis(con, month, prior),
        denial_trend=trend,
        denial_payers=payers,
        denial_categories=categories,
        coders=_coders(con, month, prior),
        gaps=gaps,
        gap_departments=gap_departments,
        gap_totals=gap_totals,
        cost_facilities=cost_facilities,
        cost_departments=cost_departments,
        quality=_quality(con),
    )
    data.totals = _totals(data)
    return data
