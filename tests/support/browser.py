"""A headless Chromium page on the dashboard, confined to the collector under test.

Debian ``chromium`` driven by Playwright with the report renderer's flags; any request to
another host is aborted (it would be a CDN or a leak); console errors, page errors and failed
requests are collected so a test can assert there were none.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright import sync_api as playwright_api

from tracerail.collector.reports.render import CHROMIUM_ARGS

# How long a page may take to show what a test waits for. Generous: the page's requests are
# answered by a collector that shares two cores with the test, Chromium and other test
# processes, and the review test waited past 20 s under load (a slow answer is not a wrong one:
# every wait still checks the page's content).
TIMEOUT_MS = 60_000


@contextmanager
def dashboard_page(
    base_url: str, *, width: int = 1400, height: int = 1000, **context_options: Any
) -> Iterator[tuple[Any, list[str]]]:
    """``(page, problems)``: a page that may only reach ``base_url`` (``context_options`` go to
    Playwright's ``new_context``, e.g. ``accept_downloads=True``)."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            context = browser.new_context(
                viewport={"width": width, "height": height}, **context_options
            )
            context.route(
                "**/*",
                lambda route: (
                    route.continue_() if route.request.url.startswith(base_url) else route.abort()
                ),
            )
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            yield page, problems
        finally:
            browser.close()


def screenshot_dir(name: str) -> Path:
    """A new temporary folder for a test module's screenshots (the test artifacts), printed so
    a run shows where they are."""
    path = Path(tempfile.mkdtemp(prefix=f"tracerail-{name}-"))
    print(f"\n{name} screenshots: {path}")
    return path
