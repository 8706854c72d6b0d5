"""``GET /api/v1/reports/compliance``: the compliance report as JSON, HTML or PDF."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from tracerail.collector.api.audit import (
    FromQuery,
    ProjectQuery,
    ToQuery,
    check_params,
    check_project,
)
from tracerail.collector.api.deps import ProjectDep, SettingsDep, StoreDep
from tracerail.collector.api.errors import ApiError
from tracerail.collector.api.metrics import ThresholdQuery
from tracerail.collector.api.timerange import invalid, time_range
from tracerail.collector.store.compliance import ReportRequest, compliance_report

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

FORMATS: Final = ("json", "html", "pdf")
PARAMS: Final = ("from", "to", "project", "format", "threshold")


@router.get("/compliance", summary="Compliance report for a period (json, html or pdf)")
async def compliance(
    request: Request,
    store: StoreDep,
    project: ProjectDep,
    settings: SettingsDep,
    from_: FromQuery = None,
    to: ToQuery = None,
    project_: ProjectQuery = None,
    format: Annotated[str, Query(description="json, html or pdf")] = "json",
    threshold: ThresholdQuery = 0.5,
) -> Response:
    check_params(request, PARAMS)
    check_project(project_, project)
    if format not in FORMATS:
        raise invalid("format", "expected json, html or pdf")
    asked = ReportRequest(*time_range(from_, to), threshold)
    report: dict[str, Any] = await asyncio.to_thread(
        compliance_report, store, project, settings, asked
    )
    if format == "json":
        return JSONResponse(report)
    from tracerail.collector.reports import PdfUnavailable, render_html, render_pdf

    html = render_html(report)
    # The file names the last day the report covers (its ``to`` is exclusive).
    last = datetime.fromisoformat(report["scope"]["to"].replace("Z", "+00:00"))
    last_day = (last - timedelta(microseconds=1)).date().isoformat()
    name = f"compliance-{project}-{report['scope']['from'][:10]}-to-{last_day}"
    if format == "html":
        return HTMLResponse(
            html, headers={"Content-Disposition": f'inline; filename="{name}.html"'}
        )
    try:
        pdf = await asyncio.to_thread(render_pdf, html)
    except PdfUnavailable as exc:
        raise ApiError(503, "pdf_unavailable", str(exc)) from None
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )
