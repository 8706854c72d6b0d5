"""Compliance reports: HTML from jinja2 templates with inline-SVG charts, PDF printed from the
same HTML by headless Chromium, JSON with the same numbers."""

from __future__ import annotations

from tracerail.collector.reports.render import PdfUnavailable, render_html, render_pdf

__all__ = ["PdfUnavailable", "render_html", "render_pdf"]
