"""pyx12 as the oracle: parse an 835 with pyx12 (its XML rendering) and pull out the rows
the rcm parser must reproduce, in document order."""

from __future__ import annotations

import io
import logging
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyx12.params
import pyx12.x12n_document

logging.getLogger("pyx12").setLevel(logging.CRITICAL)


def pyx12_xml(path: Path) -> str:
    buf = io.StringIO()
    pyx12.x12n_document.x12n_document(
        param=pyx12.params.params(),
        src_file=str(path),
        fd_997=None,
        fd_html=None,
        fd_xmldoc=buf,
        map_path=None,
    )
    return buf.getvalue()


def _values(seg: ET.Element) -> dict[str, str]:
    out = {}
    for node in seg.iter():
        if node.tag in ("ele", "subele"):
            out[node.get("id")] = node.text or None  # empty = null, as in the tables
    return out


def _dec(text: str | None) -> Decimal | None:
    return Decimal(text) if text not in (None, "") else None


def _num(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def _cas_rows(seg: ET.Element, level: str) -> list[tuple]:
    v = _values(seg)
    rows = []
    for k in range(6):
        reason = v.get(f"CAS{2 + 3 * k:02d}")
        amount = v.get(f"CAS{3 + 3 * k:02d}")
        if reason is None and amount is None:
            continue
        rows.append(
            (level, v.get("CAS01"), reason, _dec(amount), _num(v.get(f"CAS{4 + 3 * k:02d}")))
        )
    return rows


def oracle_rows(path: Path) -> dict[str, list[tuple]]:
    root = ET.fromstring(pyx12_xml(path))
    out: dict[str, list[tuple]] = {
        "claims": [],
        "service_lines": [],
        "adjustments": [],
        "remarks": [],
        "provider_adjustments": [],
    }
    for loop in root.iter("loop"):
        if loop.get("id") != "2100":
            continue
        clp = _values(loop.find("seg[@id='CLP']"))
        patient = next(
            (_values(s) for s in loop.findall("seg[@id='NM1']") if _values(s).get("NM101") == "QC"),
            {},
        )
        out["claims"].append(
            (
                clp.get("CLP01"),
                clp.get("CLP02"),
                _dec(clp.get("CLP03")),
                _dec(clp.get("CLP04")),
                _dec(clp.get("CLP05")),
                clp.get("CLP06"),
                clp.get("CLP07"),
                clp.get("CLP08"),
                clp.get("CLP09"),
                clp.get("CLP11"),
                patient.get("NM103"),
                patient.get("NM104"),
                patient.get("NM109"),
            )
        )
        for cas in loop.findall("seg[@id='CAS']"):
            out["adjustments"].extend(_cas_rows(cas, "claim"))
        for line in loop.findall("loop[@id='2110']"):
            svc = _values(line.find("seg[@id='SVC']"))
            out["service_lines"].append(
                (
                    svc.get("SVC01-01"),
                    svc.get("SVC01-02"),
                    svc.get("SVC01-03"),
                    svc.get("SVC01-04"),
                    svc.get("SVC01-05"),
                    svc.get("SVC01-06"),
                    _dec(svc.get("SVC02")),
                    _dec(svc.get("SVC03")),
                    svc.get("SVC04"),
                    _num(svc.get("SVC05")),
                )
            )
            for cas in line.findall("seg[@id='CAS']"):
                out["adjustments"].extend(_cas_rows(cas, "line"))
            for lq in line.findall("seg[@id='LQ']"):
                v = _values(lq)
                out["remarks"].append((v.get("LQ01"), v.get("LQ02")))
    for seg in root.iter("seg"):
        if seg.get("id") != "PLB":
            continue
        v = _values(seg)
        for k in range(6):
            element = 3 + 2 * k
            reason = v.get(f"PLB{element:02d}-01")
            amount = v.get(f"PLB{element + 1:02d}")
            if reason is None and amount is None:
                continue
            out["provider_adjustments"].append(
                (
                    v.get("PLB01"),
                    v.get("PLB02"),
                    reason,
                    v.get(f"PLB{element:02d}-02"),
                    _dec(amount),
                )
            )
    return out


def rcm_rows(tables) -> dict[str, list[tuple]]:
    """The same tuples from rcm's tables (one file), in segment order."""
    claims = tables.claims.sort("segment_position")
    svc = tables.service_lines.sort("segment_position")
    adj = (
        tables.claim_adjustments.with_columns(level=pl.lit("claim"))
        .vstack(tables.line_adjustments.drop("service_line_key").with_columns(level=pl.lit("line")))
        .sort("segment_position", "triplet_index")
    )
    lq = tables.remarks.filter(source_element="LQ02").sort("segment_position")
    plb = tables.provider_adjustments.sort("segment_position", "pair_index")
    return {
        "claims": claims.select(
            "patient_control_number",
            "claim_status_code",
            "total_charge_amount",
            "paid_amount",
            "patient_responsibility_amount",
            "claim_filing_indicator_code",
            "payer_claim_control_number",
            "facility_type_code",
            "claim_frequency_code",
            "drg_code",
            "patient_last_name",
            "patient_first_name",
            "patient_identifier",
        ).rows(),
        "service_lines": svc.select(
            "procedure_qualifier",
            "procedure_code",
            "modifier_1",
            "modifier_2",
            "modifier_3",
            "modifier_4",
            "line_charge_amount",
            "line_paid_amount",
            "revenue_code",
            "units_paid",
        ).rows(),
        "adjustments": adj.select(
            "level", "group_code", "reason_code", "adjustment_amount", "adjustment_quantity"
        ).rows(),
        "remarks": lq.select("code_list_qualifier", "remark_code").rows(),
        "provider_adjustments": plb.select(
            "provider_identifier",
            pl.col("fiscal_period_date").dt.strftime("%Y%m%d"),
            "adjustment_reason_code",
            "reference_identifier",
            "adjustment_amount",
        ).rows(),
    }
