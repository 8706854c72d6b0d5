"""The columns of the ``spans`` table, defined once.

Each column has its ClickHouse type (and codec, default); the DDL
(:data:`~tracerail.collector.store.migrations.m001_spans.SPANS`), the column order ``flatten``
writes (:data:`SPAN_COLUMN_NAMES`) and the Arrow schema of the insert (:data:`SPAN_ARROW_TYPES`)
are all derived from :data:`SPAN_COLUMNS` here. A leaf module: both the ``otlp`` and the ``store``
layer import it, and it imports neither.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import pyarrow as pa

__all__ = [
    "SPAN_ARROW_TYPES",
    "SPAN_COLUMNS",
    "SPAN_COLUMN_NAMES",
    "STRING_MAP",
    "TS",
    "SpanColumn",
    "arrow_type",
]

STRING_MAP: Final = "Map(LowCardinality(String), String)"
TS: Final = "DateTime64(9, 'UTC')"


@dataclass(frozen=True, slots=True)
class SpanColumn:
    """One column: name, ClickHouse type, codec, default; ``written`` = sent by ingest."""

    name: str
    type: str
    codec: str | None = None
    default: str | None = None
    written: bool = True


_LOW = "LowCardinality(String)"
_Z1 = "ZSTD(1)"

SPAN_COLUMNS: Final[tuple[SpanColumn, ...]] = (
    SpanColumn("project", _LOW),
    SpanColumn("timestamp", TS, codec="Delta, ZSTD(1)"),
    SpanColumn("duration_ns", "UInt64", codec=_Z1),
    SpanColumn("trace_id", "String", codec=_Z1),
    SpanColumn("span_id", "String", codec=_Z1),
    SpanColumn("parent_span_id", "String", codec=_Z1),
    SpanColumn("trace_state", "String", codec=_Z1),
    SpanColumn("name", _LOW),
    SpanColumn("kind", _LOW),
    SpanColumn("service_name", _LOW),
    SpanColumn("scope_name", _LOW),
    SpanColumn("scope_version", _LOW),
    SpanColumn("status_code", _LOW),
    SpanColumn("status_message", "String", codec=_Z1),
    # Promoted from attributes (collector/otlp/promote.py names the attributes of each).
    SpanColumn("observation_kind", _LOW),
    SpanColumn("operation", _LOW),
    SpanColumn("provider", _LOW),
    SpanColumn("request_model", _LOW),
    SpanColumn("response_model", _LOW),
    SpanColumn("user_id", "String", codec=_Z1),
    SpanColumn("session_id", "String", codec=_Z1),
    SpanColumn("error_type", _LOW),
    SpanColumn("input_tokens", "UInt32"),
    SpanColumn("output_tokens", "UInt32"),
    SpanColumn("cached_input_tokens", "UInt32"),
    SpanColumn("reasoning_tokens", "UInt32"),
    SpanColumn("cost_usd", "Nullable(Float64)"),
    SpanColumn("input", "String", codec="ZSTD(3)"),
    SpanColumn("output", "String", codec="ZSTD(3)"),
    SpanColumn("attributes", STRING_MAP, codec=_Z1),
    SpanColumn("resource_attributes", STRING_MAP, codec=_Z1),
    SpanColumn("event_timestamps", f"Array({TS})", codec=_Z1),
    SpanColumn("event_names", f"Array({_LOW})", codec=_Z1),
    SpanColumn("event_attributes", f"Array({STRING_MAP})", codec=_Z1),
    SpanColumn("link_trace_ids", "Array(String)", codec=_Z1),
    SpanColumn("link_span_ids", "Array(String)", codec=_Z1),
    SpanColumn("retention_days", "UInt16", default="30"),
    SpanColumn("ingested_at", "DateTime64(3, 'UTC')", default="now64(3)", written=False),
)

_SCALARS: Final[dict[str, pa.DataType]] = {
    "String": pa.string(),
    "UInt8": pa.uint8(),
    "UInt16": pa.uint16(),
    "UInt32": pa.uint32(),
    "UInt64": pa.uint64(),
    "Int64": pa.int64(),
    "Float64": pa.float64(),
    TS: pa.timestamp("ns", tz="UTC"),
}
_WRAPPED = re.compile(r"^(LowCardinality|Nullable|Array)\((.*)\)$")
_MAP = re.compile(r"^Map\((.*), (.*)\)$")


def arrow_type(clickhouse_type: str) -> pa.DataType:
    """The Arrow type ClickHouse reads into ``clickhouse_type`` (the types this table uses)."""
    wrapped = _WRAPPED.match(clickhouse_type)
    if wrapped:
        outer, inner = wrapped.groups()
        item = arrow_type(inner)
        return pa.list_(item) if outer == "Array" else item
    mapped = _MAP.match(clickhouse_type)
    if mapped:
        return pa.map_(arrow_type(mapped.group(1)), arrow_type(mapped.group(2)))
    try:
        return _SCALARS[clickhouse_type]
    except KeyError:
        raise ValueError(f"no Arrow type for ClickHouse type {clickhouse_type!r}") from None


#: The columns ingest writes, in table order: the keys of ``flatten``'s output.
SPAN_COLUMN_NAMES: Final[tuple[str, ...]] = tuple(c.name for c in SPAN_COLUMNS if c.written)
#: The Arrow type of each written column.
SPAN_ARROW_TYPES: Final[dict[str, pa.DataType]] = {
    c.name: arrow_type(c.type) for c in SPAN_COLUMNS if c.written
}
