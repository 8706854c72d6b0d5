"""``GET /api/v1/evaluators``: the evaluators this collector knows and its online evaluator's
progress (evaluator, version, scored, pending, errors, last run, rate)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from tracerail.collector.api.deps import ProjectDep, SettingsDep
from tracerail.collector.online_eval import OnlineEvaluator, disabled_progress

router = APIRouter(prefix="/api/v1", tags=["evaluators"])


@router.get("/evaluators", summary="Evaluators and the online evaluator's progress")
async def list_evaluators(
    request: Request, settings: SettingsDep, _project: ProjectDep
) -> dict[str, Any]:
    """``online`` is the collector's background evaluator (``enabled: false`` when it is off,
    ``online_eval_enabled``); its counts cover every project of this collector."""
    from tracerail.guardrails.evaluators import evaluator_names

    worker: OnlineEvaluator | None = getattr(request.app.state, "online_evaluator", None)
    online = worker.snapshot() if worker is not None else disabled_progress(settings)
    return {"available": evaluator_names(), "online": online}
