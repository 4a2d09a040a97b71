"""Small helpers to read the report's HTML in tests (the standard library's parser only)."""

from __future__ import annotations

import html
import re
from decimal import Decimal


def element(page: str, element_id: str) -> str:
    """The HTML of the element with `id` (its own tag up to the matching close tag)."""
    found = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"', page)
    assert found, f"no element with id {element_id!r} in the report"
    tag, start, depth = found.group(1), found.start(), 0
    for match in re.finditer(rf"<(/?){tag}\b[^>]*>", page[start:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return page[start : start + match.end()]
    raise AssertionError(f"element {element_id!r} is not closed")


def table_rows(table: str, part: str = "tbody") -> list[str]:
    """The text of each row of a table's tbody (or tfoot), tags removed, entities decoded."""
    body = re.search(rf"<{part}>(.*?)</{part}>", table, re.S)
    assert body, f"table has no {part}"
    return [text(row) for row in re.findall(r"<tr\b.*?</tr>", body.group(1), re.S)]


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def money(value, cents: bool = True) -> str:
    value = Decimal(value)
    shown = f"${abs(value):,.2f}" if cents else f"${abs(value):,.0f}"
    return f"-{shown}" if value < 0 and shown.strip("$0.,") else shown


def rate(numerator, denominator) -> str:
    return f"{float(numerator) / float(denominator):.1%}"


def row_with(rows: list[str], first_cell: str) -> str:
    """The row whose first cell starts with `first_cell`."""
    found = [r for r in rows if r.split(" ")[0] == first_cell]
    assert len(found) == 1, f"{first_cell!r}: {len(found)} rows in {rows}"
    return found[0]
