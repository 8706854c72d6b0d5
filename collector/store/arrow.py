"""Flattened span columns → a typed Arrow table for one columnar insert.

The ``spans`` rows of a batch go to ClickHouse as one Arrow table: typed arrays built in bulk
(maps from flat key/value lists plus offsets, not one Python object per row), which ClickHouse
reads column by column. Types are explicit so empty batches and empty lists keep the table's
types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate, chain
from typing import Any

import pyarrow as pa

from tracerail.collector.otlp.flatten import SPAN_COLUMNS, SpanColumns

TIMESTAMP = pa.timestamp("ns", tz="UTC")
STRING = pa.string()
STRING_MAP = pa.map_(STRING, STRING)

# Columns that are not plain strings, by type; every other span column is a string.
_TYPES: dict[str, pa.DataType] = {
    "timestamp": TIMESTAMP,
    "duration_ns": pa.uint64(),
    "input_tokens": pa.uint32(),
    "output_tokens": pa.uint32(),
    "cached_input_tokens": pa.uint32(),
    "reasoning_tokens": pa.uint32(),
    "cost_usd": pa.float64(),
    "retention_days": pa.uint16(),
}
_MAPS = ("attributes", "resource_attributes")
_LISTS: dict[str, pa.DataType] = {
    "event_timestamps": TIMESTAMP,
    "event_names": STRING,
    "link_trace_ids": STRING,
    "link_span_ids": STRING,
}
_LIST_OF_MAPS = ("event_attributes",)


def _offsets(lengths: Iterable[int]) -> pa.Array:
    return pa.array([0, *accumulate(lengths)], pa.int32())


def map_array(maps: Sequence[Mapping[str, Any]], value_type: pa.DataType = STRING) -> pa.MapArray:
    """``Map(String, T)`` values from dicts, via flat key and value arrays."""
    keys = pa.array(list(chain.from_iterable(maps)), STRING)
    values = pa.array(list(chain.from_iterable(m.values() for m in maps)), value_type)
    return pa.MapArray.from_arrays(_offsets(map(len, maps)), keys, values)


def list_array(lists: Sequence[Sequence[Any]], item: pa.DataType) -> pa.ListArray:
    """``Array(T)`` values from lists, via one flat array."""
    flat = pa.array(list(chain.from_iterable(lists)), item)
    return pa.ListArray.from_arrays(_offsets(map(len, lists)), flat)


def list_of_maps(lists: Sequence[Sequence[Mapping[str, str]]]) -> pa.ListArray:
    """``Array(Map(String, String))`` values."""
    inner = map_array(list(chain.from_iterable(lists)))
    return pa.ListArray.from_arrays(_offsets(map(len, lists)), inner)


def column_array(name: str, values: Sequence[Any]) -> pa.Array:
    """One span column as an Arrow array of the table's type."""
    if name in _MAPS:
        return map_array(values)
    if name in _LISTS:
        return list_array(values, _LISTS[name])
    if name in _LIST_OF_MAPS:
        return list_of_maps(values)
    return pa.array(values, _TYPES.get(name, STRING))


def spans_table(columns: SpanColumns) -> pa.Table:
    """The ``spans`` rows of ``columns`` (as made by ``flatten``) as one Arrow table."""
    return pa.Table.from_arrays(
        [column_array(name, columns[name]) for name in SPAN_COLUMNS], names=list(SPAN_COLUMNS)
    )


def typed_table(columns: Mapping[str, Sequence[Any]], types: Mapping[str, pa.DataType]) -> pa.Table:
    """Any column dict as an Arrow table; ``types`` names the non-string columns."""
    arrays: list[pa.Array] = []
    for name, values in columns.items():
        kind = types.get(name, STRING)
        if pa.types.is_map(kind):
            arrays.append(map_array(values, kind.item_type))
        elif pa.types.is_list(kind):
            arrays.append(list_array(values, kind.value_type))
        else:
            arrays.append(pa.array(values, kind))
    return pa.Table.from_arrays(arrays, names=list(columns))


# Typed columns of the ``guardrail_events`` table (the rest are strings).
GUARDRAIL_TYPES: dict[str, pa.DataType] = {
    "timestamp": TIMESTAMP,
    "event_index": pa.uint16(),
    "latency_ms": pa.float64(),
    "entity_types": pa.list_(STRING),
    "entity_counts": pa.map_(STRING, pa.uint32()),
    "retention_days": pa.uint16(),
}
