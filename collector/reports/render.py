"""Compliance report → HTML (jinja2) and → PDF (the same HTML printed by headless Chromium).

The HTML is self-contained: inline CSS and inline SVG, no scripts, fonts or images fetched
from anywhere. PDF printing uses Playwright driving the system Chromium (Debian package
``chromium``); it never downloads a browser. Chromium is found at ``TRACERAIL_CHROMIUM``, else
on ``PATH`` as ``chromium``, ``chromium-browser``, ``google-chrome``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, PackageLoader, select_autoescape

from tracerail.collector import lifeline
from tracerail.collector.errors import Unavailable
from tracerail.collector.reports import charts
from tracerail.collector.reports.charts import BLUE, RED

ENV_CHROMIUM: Final = "TRACERAIL_CHROMIUM"
NONE: Final = "\u2013"  # shown for a figure that has no value (e.g. no calls)
CHROMIUM_NAMES: Final = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
)


class PdfUnavailable(Unavailable):
    """PDF output needs Playwright and a Chromium binary; the message says what is missing."""


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("tracerail.collector.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: NONE if v is None else f"{v:.1%}"
    env.filters["ms"] = lambda v: NONE if v is None else f"{v:,.1f}"
    env.filters["usd"] = lambda v: NONE if v is None else f"${v:,.4f}"
    env.filters["num"] = lambda v: NONE if v is None else f"{v:,}"
    env.filters["ci"] = lambda v: NONE if not v else f"{v[0]:.1%} to {v[1]:.1%}"
    return env


def _charts(report: dict[str, Any]) -> dict[str, Any]:
    days = report["volume"]["by_day"]
    labels = [d["day"][5:] for d in days]
    over_time = report["hallucination_over_time"]
    pii = report["data_protection"]["pii_findings"]
    return {
        "volume": charts.bar_chart(
            labels,
            [
                ("calls", [d["calls"] for d in days], BLUE),
                ("blocked", [d["blocked"] for d in days], RED),
            ],
            "Calls and blocked requests per day",
        ),
        "hallucination": charts.rate_chart(
            [d["day"][5:] for d in over_time],
            [d["rate"] for d in over_time],
            [d["ci95"] for d in over_time],
            "Hallucination rate per day with 95% interval",
        ),
        "pii": charts.hbar_chart(
            [(row["entity_type"], row["total"]) for row in pii[:12]], "PII findings by entity"
        ),
    }


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (one printed page per section)."""
    template = _environment().get_template("compliance.html.j2")
    return template.render(r=report, charts=_charts(report))


def find_chromium() -> str:
    """Path of a Chromium binary, or :class:`PdfUnavailable` naming the package to install."""
    configured = os.environ.get(ENV_CHROMIUM)
    if configured:
        if os.access(configured, os.X_OK):
            return configured
        raise PdfUnavailable(f"{ENV_CHROMIUM}={configured} is not an executable file")
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise PdfUnavailable(
        "PDF reports need Chromium: install the Debian package 'chromium' "
        f"(apt-get install chromium) or set {ENV_CHROMIUM} to a Chromium binary; "
        "HTML and JSON reports work without it"
    )


def render_pdf(html: str) -> bytes:
    """Print ``html`` to A4 PDF with headless Chromium (blocking; run it in a thread)."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise PdfUnavailable(
            "PDF reports need Playwright: pip install 'tracerail[reports]' "
            "(and the Debian package 'chromium')"
        ) from None
    executable = find_chromium()
    try:
        with tempfile.TemporaryDirectory(prefix="tracerail-pdf-") as tmp, sync_playwright() as pw:
            # Chromium dies with Playwright's driver (parent-death signal; the driver itself
            # exits when our end of its stdin pipe closes): a killed collector leaves no browser.
            launch = lifeline.exec_wrapper(executable, Path(tmp))
            browser = pw.chromium.launch(executable_path=launch, args=list(CHROMIUM_ARGS))
            try:
                page = browser.new_page()
                # Anything the page tries to fetch is refused: the report must be self-contained.
                page.route("**/*", lambda route: route.abort())
                page.set_content(html, wait_until="load")
                return page.pdf(
                    format="A4",
                    print_background=True,
                    margin={"top": "14mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
                    display_header_footer=True,
                    header_template="<span></span>",
                    footer_template=(
                        '<div style="font-size:8px;width:100%;text-align:center;color:#666">'
                        'Page <span class="pageNumber"></span> of <span class="totalPages"></span>'
                        "</div>"
                    ),
                )
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise PdfUnavailable(f"Chromium could not print the report: {exc}") from exc
