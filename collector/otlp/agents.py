"""Agent and tool spans from any instrumentation, onto the same columns and attribute keys.

An agent or tool span is recognised by tracerail's observation kind, the GenAI
``gen_ai.operation.name`` (``invoke_agent``, ``invoke_workflow``, ``execute_tool``; OpenLIT
sends these too), OpenLLMetry's ``traceloop.span.kind`` (``agent``/``tool``) or OpenInference's
``openinference.span.kind`` (``AGENT``/``TOOL``). For each one the row gets:

* ``observation_kind`` ``agent`` / ``tool`` and ``operation`` ``invoke_agent`` /
  ``execute_tool`` where the span had none;
* the canonical ``gen_ai.agent.name`` / ``gen_ai.tool.name`` in its attribute map, taken from
  the library's own key (``agent.name``, ``tool.name``, ``traceloop.entity.name``, the older
  ``gen_ai.workflow.name``) or else from the span name; a tool's ``tool.description`` and
  ``tool.id`` become ``gen_ai.tool.description`` and ``gen_ai.tool.call.id``.

The library's own keys stay in the map as they came. OpenLLMetry ``workflow`` / ``task`` spans
get the plain ``span`` kind.
"""

from __future__ import annotations

from typing import Any, Final

from tracerail import semconv as sc

_AGENT, _TOOL = sc.KIND_AGENT, sc.KIND_TOOL

ROLE_BY_OPERATION: Final[dict[str, str]] = {
    sc.OPERATION_INVOKE_AGENT: _AGENT,
    sc.OPERATION_INVOKE_WORKFLOW: _AGENT,
    sc.OPERATION_EXECUTE_TOOL: _TOOL,
}
ROLE_BY_TRACELOOP_KIND: Final[dict[str, str]] = {
    "agent": _AGENT,
    "tool": _TOOL,
    "workflow": sc.KIND_SPAN,
    "task": sc.KIND_SPAN,
}
ROLE_BY_OPENINFERENCE_KIND: Final[dict[str, str]] = {"AGENT": _AGENT, "TOOL": _TOOL}
OPERATION_BY_ROLE: Final[dict[str, str]] = {
    _AGENT: sc.OPERATION_INVOKE_AGENT,
    _TOOL: sc.OPERATION_EXECUTE_TOOL,
}
# Where each library keeps the name, in order of preference (canonical key first).
NAME_KEYS: Final[dict[str, tuple[str, ...]]] = {
    _AGENT: (sc.GEN_AI_AGENT_NAME, sc.OPENINFERENCE_AGENT_NAME, sc.LEGACY_GEN_AI_WORKFLOW_NAME),
    _TOOL: (sc.GEN_AI_TOOL_NAME, sc.OPENINFERENCE_TOOL_NAME),
}
CANONICAL_NAME: Final[dict[str, str]] = {_AGENT: sc.GEN_AI_AGENT_NAME, _TOOL: sc.GEN_AI_TOOL_NAME}
TOOL_ALIASES: Final[tuple[tuple[str, str], ...]] = (
    (sc.OPENINFERENCE_TOOL_DESCRIPTION, sc.GEN_AI_TOOL_DESCRIPTION),
    (sc.OPENINFERENCE_TOOL_ID, sc.GEN_AI_TOOL_CALL_ID),
)
_MARKERS: Final = frozenset(
    {sc.OPENLLMETRY_SPAN_KIND, sc.OPENINFERENCE_SPAN_KIND, sc.GEN_AI_OPERATION_NAME}
)


def _role(attributes: dict[str, str], kind: str, operation: str) -> str:
    if kind:
        return kind
    found = ROLE_BY_OPERATION.get(operation)
    if found is None:
        traceloop = attributes.get(sc.OPENLLMETRY_SPAN_KIND)
        found = ROLE_BY_TRACELOOP_KIND.get(traceloop.lower()) if traceloop else None
    if found is None:
        openinference = attributes.get(sc.OPENINFERENCE_SPAN_KIND)
        found = ROLE_BY_OPENINFERENCE_KIND.get(openinference.upper()) if openinference else None
    return found or ""


def _name(attributes: dict[str, str], role: str, span_name: str) -> str:
    for key in NAME_KEYS[role]:
        value = attributes.get(key)
        if value:
            return value
    if attributes.get(sc.OPENLLMETRY_SPAN_KIND, "").lower() == role:
        entity = attributes.get(sc.OPENLLMETRY_ENTITY_NAME)
        if entity:
            return entity
    prefix = OPERATION_BY_ROLE[role] + " "
    return span_name[len(prefix) :] if span_name.startswith(prefix) else span_name


def map_agents_and_tools(
    columns: dict[str, list[Any]], attributes: list[dict[str, str]], present: set[str]
) -> None:
    """Fill ``observation_kind``, ``operation`` and the canonical names in place (see above).

    ``columns`` holds the rows' ``name``, ``observation_kind`` and ``operation`` lists;
    ``present`` is every attribute key of the batch (rows without a marker are skipped fast).
    """
    kinds: list[str] = columns["observation_kind"]
    operations: list[str] = columns["operation"]
    if not (present & _MARKERS) and _AGENT not in kinds and _TOOL not in kinds:
        return
    names: list[str] = columns["name"]
    for index, row in enumerate(attributes):
        role = _role(row, kinds[index], operations[index])
        if not role:
            continue
        if not kinds[index]:
            kinds[index] = role
        if role not in CANONICAL_NAME:
            continue
        if not operations[index]:
            operations[index] = OPERATION_BY_ROLE[role]
        canonical = CANONICAL_NAME[role]
        if not row.get(canonical):
            name = _name(row, role, names[index])
            if name:
                row[canonical] = name
        if role == _TOOL:
            for alias, key in TOOL_ALIASES:
                if alias in row and key not in row:
                    row[key] = row[alias]
