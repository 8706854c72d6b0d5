"""Where the overview's generation figures (calls, latency, tokens, cost) are read from.

Unfiltered, or filtered by service and model: the hourly ``generation_stats`` aggregate
(:data:`HOURLY`). Filtered by user or session, which that table does not carry: the
generation spans themselves (:data:`SPANS`), the same figures computed per span. Both give
the same column names (``calls``, ``latency_sum``, ``latency_q``, ``input_tokens``,
``output_tokens``, ``cost_usd``, ``providers``), so a query reads either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.filters import SPAN_MODEL_SQL, OverviewFilter, and_all

BUCKET_SQL: Final = {"hour": "toStartOfHour({col})", "day": "toStartOfDay({col})"}


@dataclass(frozen=True, slots=True)
class GenerationSource:
    """One table that answers the generation figures, with its column expressions."""

    table: str
    time: str
    figures: str
    dimensions: tuple[tuple[str, str], ...]  # group key → SQL
    kind: str = ""  # the condition selecting generations, if the table holds more

    def group(self, key: str) -> str:
        """SQL of a group key (:data:`metrics.GROUPS`) over this table."""
        if key == "day":
            return f"toString(toDate({self.time}))"
        if key == "hour":
            return f"toString(toStartOfHour({self.time}))"
        return dict(self.dimensions)[key]

    def bucket(self, bucket: str) -> str:
        """SQL of the start of the hour or day a row falls in."""
        return BUCKET_SQL[bucket].format(col=self.time)

    def where(self, store: ClickHouseStore, filters: OverviewFilter) -> str:
        """``FROM … WHERE`` project, window (``lo``/``hi``) and the filter."""
        conditions = filters.span_conditions() if self is SPANS else filters.aggregate_conditions()
        kind = f" AND {self.kind}" if self.kind else ""
        return (
            f"FROM {store.table(self.table)} WHERE project = {{project:String}} "
            f"AND {self.time} >= {{lo:DateTime('UTC')}} AND {self.time} < {{hi:DateTime('UTC')}}"
            f"{kind}{and_all(conditions)}"
        )


HOURLY: Final = GenerationSource(
    table="generation_stats",
    time="hour",
    figures=(
        "sum(calls) AS calls, sum(latency_ms_sum) AS latency_sum, "
        "quantilesTDigestMerge(0.5, 0.95)(latency_ms_q) AS latency_q, "
        "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
        "sum(cost_usd) AS cost_usd, groupUniqArray(provider) AS providers"
    ),
    dimensions=(
        ("model", "model"),
        ("provider", "provider"),
        ("service", "service_name"),
        ("prompt_template", "prompt_template"),
    ),
)

SPANS: Final = GenerationSource(
    table="spans",
    time="timestamp",
    figures=(
        "count() AS calls, sum(duration_ns / 1e6) AS latency_sum, "
        "quantilesTDigest(0.5, 0.95)(duration_ns / 1e6) AS latency_q, "
        "sum(toUInt64(input_tokens)) AS input_tokens, "
        "sum(toUInt64(output_tokens)) AS output_tokens, "
        "sum(ifNull(cost_usd, 0)) AS cost_usd, groupUniqArray(provider) AS providers"
    ),
    dimensions=(
        ("model", SPAN_MODEL_SQL),
        ("provider", "provider"),
        ("service", "service_name"),
        ("prompt_template", f"attributes['{semconv.TRACERAIL_PROMPT_TEMPLATE_ID}']"),
    ),
    kind=f"observation_kind = '{semconv.KIND_GENERATION}'",
)


def generation_source(filters: OverviewFilter) -> GenerationSource:
    """The hourly aggregate unless the filter needs a column only spans have."""
    return SPANS if filters.by_span else HOURLY


def dimensions(store: ClickHouseStore, params: Mapping[str, Any]) -> dict[str, list[str]]:
    """The services and models that have generations in the window (``params`` binds
    ``project``, ``lo`` and ``hi``), sorted: what the overview's filter can choose from."""
    rows = store.query(
        "SELECT groupUniqArray(service_name) AS services, groupUniqArray(model) AS models "
        f"{HOURLY.where(store, OverviewFilter())}",
        dict(params),
    )
    row = rows[0] if rows else {"services": [], "models": []}
    return {
        "services": sorted(s for s in row["services"] if s),
        "models": sorted(m for m in row["models"] if m),
    }
