"""WHERE clauses shared by the listing queries (project, time window, equality filters) and
the overview's filter (:class:`OverviewFilter`: service, model, user, session).

Only column names chosen by the caller from fixed sets are written into SQL; every value is a
bound ``{name:Type}`` parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final


def base_filters(
    project: str,
    start_ns: int | None,
    end_ns: int | None,
    equals: Mapping[str, str | None],
    *,
    time_column: str = "timestamp",
) -> tuple[list[str], dict[str, Any]]:
    """``project = …``, ``[start, end)`` on ``time_column`` and ``column = value`` per set value."""
    where = ["project = {project:String}"]
    params: dict[str, Any] = {"project": project}
    if start_ns is not None:
        where.append(f"{time_column} >= fromUnixTimestamp64Nano({{start_ns:Int64}}, 'UTC')")
        params["start_ns"] = start_ns
    if end_ns is not None:
        where.append(f"{time_column} < fromUnixTimestamp64Nano({{end_ns:Int64}}, 'UTC')")
        params["end_ns"] = end_ns
    for column, value in equals.items():
        if value is not None:
            where.append(f"{column} = {{{column}:String}}")
            params[column] = value
    return where, params


# A generation's model in the spans table, as the hourly aggregates and scores store it.
SPAN_MODEL_SQL: Final = "if(response_model != '', response_model, request_model)"
# Spans whose guardrail decisions can fall in a window start up to this long before it.
_DECISION_LEAD: Final = "INTERVAL 1 DAY"


@dataclass(frozen=True, slots=True)
class OverviewFilter:
    """The overview's narrowing: generations of one service, model, user and/or session.

    The hourly aggregates (``generation_stats``, ``hallucination_stats``) and ``scores``
    carry service and model but not user or session: with a user or session (``by_span``)
    the figures are computed from the spans table instead. Decisions match through the span
    they were recorded on. Values are bound as ``{f_service:String}`` and the like.
    """

    service: str | None = None
    model: str | None = None
    user: str | None = None
    session: str | None = None

    @property
    def by_span(self) -> bool:
        """True when the hourly aggregates cannot answer (a user or session is set)."""
        return self.user is not None or self.session is not None

    def as_query(self) -> dict[str, str | None]:
        """The filter as plain JSON (echoed in responses)."""
        return {
            "service": self.service,
            "model": self.model,
            "user": self.user,
            "session": self.session,
        }

    def params(self) -> dict[str, str]:
        """The bound values of every condition below."""
        return {f"f_{k}": v for k, v in self.as_query().items() if v is not None}

    def aggregate_conditions(self) -> list[str]:
        """Service and model over a table with ``service_name`` and ``model`` columns."""
        out = []
        if self.service is not None:
            out.append("service_name = {f_service:String}")
        if self.model is not None:
            out.append("model = {f_model:String}")
        return out

    def span_conditions(self) -> list[str]:
        """Every set filter over the spans table."""
        out = []
        if self.service is not None:
            out.append("service_name = {f_service:String}")
        if self.model is not None:
            out.append(f"{SPAN_MODEL_SQL} = {{f_model:String}}")
        if self.user is not None:
            out.append("user_id = {f_user:String}")
        if self.session is not None:
            out.append("session_id = {f_session:String}")
        return out

    def _spans_in(self, spans: str, since: str) -> str:
        return (
            f"span_id IN (SELECT span_id FROM {spans} WHERE project = {{project:String}} "
            f"AND timestamp >= {since} AND timestamp < {{hi:DateTime('UTC')}} "
            f"AND {' AND '.join(self.span_conditions())})"
        )

    def scores_conditions(self, spans: str) -> list[str]:
        """Over ``scores`` (window on ``span_hour``): service and model directly, user and
        session through the scored span (``spans`` is the spans table's name)."""
        out = self.aggregate_conditions()
        if self.by_span:
            out.append(self._spans_in(spans, "{lo:DateTime('UTC')}"))
        return out

    def decision_conditions(self, spans: str) -> list[str]:
        """Over ``guardrail_events``: service directly; model, user and session through the
        span the decision was recorded on (a span that started up to a day before the window:
        a decision comes during its span)."""
        out = ["service_name = {f_service:String}"] if self.service is not None else []
        if self.model is not None or self.by_span:
            out.append(self._spans_in(spans, f"{{lo:DateTime('UTC')}} - {_DECISION_LEAD}"))
        return out


NO_FILTER: Final = OverviewFilter()


def and_all(conditions: list[str]) -> str:
    """`` AND c1 AND c2 …`` to append to a WHERE clause ('' for none)."""
    return "".join(f" AND {c}" for c in conditions)
