"""The HTML report renders in headless Chromium: not blank, no console error, no network.

Chromium is Debian's `chromium` package (`make browser`, a prerequisite of `make test`).
The page is opened from disk over the DevTools protocol; every request the page makes is
recorded (only the page's own file:// URL is expected), and Chromium runs behind a proxy
that goes nowhere, so nothing could leave the machine even if the page tried.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from chromium_cdp import CHROMIUM, visit_page
from PIL import Image, ImageStat

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def visit(report, tmp_path_factory):
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install it with `make browser` (Debian chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    result = visit_page(report.html.resolve().as_uri(), profile)
    keep = os.environ.get("RCM_REPORT_SCREENSHOT")  # e.g. to look at it after the run
    if keep:
        Path(keep).write_bytes(result.screenshot)
    shutil.rmtree(profile, ignore_errors=True)
    return result


def test_only_the_page_itself_is_requested(visit, report) -> None:
    assert visit.requests == [report.html.resolve().as_uri()]
    assert not visit.failed_requests


def test_no_console_errors(visit) -> None:
    assert not visit.console_errors
    assert not visit.exceptions
    assert not visit.log_errors


def test_screenshot_is_not_blank(visit) -> None:
    image = Image.open(io.BytesIO(visit.screenshot)).convert("L")
    width, height = image.size
    assert width == 1280 and height > 3000, "a full page with every section"
    stats = ImageStat.Stat(image)
    assert stats.stddev[0] > 20, "pixel variance: text, charts and tables, not an empty page"
    histogram = image.histogram()
    not_white = 1 - sum(histogram[250:]) / (width * height)
    assert not_white > 0.05
