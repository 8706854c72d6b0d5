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

from tracerail.collector.columns import SPAN_ARROW_TYPES, SPAN_COLUMN_NAMES

TIMESTAMP = pa.timestamp("ns", tz="UTC")
STRING = pa.string()
STRING_MAP = pa.map_(STRING, STRING)


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


def spans_table(columns: Mapping[str, Sequence[Any]]) -> pa.Table:
    """The ``spans`` rows of ``columns`` (as made by ``flatten``) as one Arrow table."""
    return typed_table({name: columns[name] for name in SPAN_COLUMN_NAMES}, SPAN_ARROW_TYPES)


def typed_table(columns: Mapping[str, Sequence[Any]], types: Mapping[str, pa.DataType]) -> pa.Table:
    """Any column dict as an Arrow table; ``types`` names the non-string columns."""
    arrays: list[pa.Array] = []
    for name, values in columns.items():
        kind = types.get(name, STRING)
        if pa.types.is_map(kind):
            arrays.append(map_array(values, kind.item_type))
        elif pa.types.is_list(kind) and pa.types.is_map(kind.value_type):
            arrays.append(list_of_maps(values))
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
