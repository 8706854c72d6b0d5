"""The dashboard at ``/``: a static page (vanilla JS, inline SVG charts) shipped in the package.

The page and its two assets hold no data; every number comes from the API through ``fetch``
calls that send ``Authorization: Bearer <key>`` when the user entered a key, so the page keeps
working once API keys are required. The attribute names the page reads are injected from
:mod:`tracerail.semconv`, never spelled in the JavaScript.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Annotated, Final

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from tracerail import semconv
from tracerail.collector.api.errors import ApiError
from tracerail.collector.otlp.guardrails import ACTIONS
from tracerail.collector.store.audit import KINDS

router = APIRouter(tags=["dashboard"], include_in_schema=False)

ASSETS: Final = {"app.js": "text/javascript", "app.css": "text/css"}
CONFIG_MARK: Final = "/*TRACERAIL_CONFIG*/{}"
# Static for a release: cached by the browser for an hour.
CACHE: Final = {"Cache-Control": "public, max-age=3600"}


def _read(name: str) -> str:
    return resources.files("tracerail.collector").joinpath("dashboard", name).read_text("utf-8")


def page_config() -> dict[str, object]:
    """What the page needs to know: attribute names, kinds and actions."""
    return {
        "attr": {
            "sourceCount": semconv.TRACERAIL_PROVENANCE_SOURCE_COUNT,
            "promptSha": semconv.TRACERAIL_PROVENANCE_PROMPT_SHA256,
            "answerSha": semconv.TRACERAIL_PROVENANCE_ANSWER_SHA256,
            "templateId": semconv.TRACERAIL_PROMPT_TEMPLATE_ID,
            "templateVersion": semconv.TRACERAIL_PROMPT_TEMPLATE_VERSION,
            "record": semconv.TRACERAIL_PROVENANCE_RECORD,
            "check": semconv.GEN_AI_GUARDRAIL_COMPONENT_NAME,
            "target": semconv.GEN_AI_GUARDRAIL_TARGET_TYPE,
            "action": semconv.TRACERAIL_GUARDRAIL_ACTION,
            "verdict": semconv.GEN_AI_GUARDRAIL_VERDICT_TYPE,
            "entityTypes": semconv.TRACERAIL_GUARDRAIL_ENTITY_TYPES,
            "reason": semconv.TRACERAIL_GUARDRAIL_REASON,
            # trace explorer (span detail panel)
            "policyVersion": semconv.TRACERAIL_GUARDRAIL_POLICY_VERSION,
            "ttft": semconv.TRACERAIL_STREAM_TTFT_MS,
            "requestPrefix": semconv.GEN_AI_REQUEST_MODEL.rsplit(".", 1)[0] + ".",
            # agent → tool → generation roles (trace view)
            "agentName": semconv.GEN_AI_AGENT_NAME,
            "toolName": semconv.GEN_AI_TOOL_NAME,
            "agentPrefix": semconv.GEN_AI_AGENT_NAME.rsplit(".", 1)[0] + ".",
            "toolPrefix": semconv.GEN_AI_TOOL_NAME.rsplit(".", 1)[0] + ".",
        },
        # gen_ai.operation.name values of each role, for spans without observation_kind
        "roleOperations": {
            semconv.KIND_AGENT: [semconv.OPERATION_INVOKE_AGENT, semconv.OPERATION_INVOKE_WORKFLOW],
            semconv.KIND_TOOL: [semconv.OPERATION_EXECUTE_TOOL],
            semconv.KIND_GENERATION: [semconv.OPERATION_CHAT, semconv.OPERATION_EMBEDDINGS],
        },
        "guardrailPrefix": semconv.GUARDRAIL_SPAN_PREFIX,
        "kinds": list(KINDS),
        "actions": list(ACTIONS),
    }


@cache
def _index() -> str:
    return _read("index.html").replace(CONFIG_MARK, json.dumps(page_config()))


@router.get("/", response_class=HTMLResponse)
async def index() -> HTMLResponse:
    return HTMLResponse(_index(), headers={"Cache-Control": "no-cache"})


@router.get("/dashboard/{name}")
async def asset(name: Annotated[str, Path(max_length=32)]) -> Response:
    media = ASSETS.get(name)
    if media is None:
        raise ApiError(404, "not_found", f"no dashboard asset {name!r}")
    return Response(_read(name), media_type=f"{media}; charset=utf-8", headers=CACHE)
