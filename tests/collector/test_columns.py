"""The spans columns are defined once: DDL, flatten's columns and the Arrow schema agree."""

from __future__ import annotations

import pyarrow as pa
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracerail.collector.columns import SPAN_COLUMN_NAMES, SPAN_COLUMNS, arrow_type
from tracerail.collector.otlp.flatten import flatten
from tracerail.collector.otlp.promote import (
    CONTENT_COLUMNS,
    FLOAT_COLUMNS,
    INT_COLUMNS,
    STRING_COLUMNS,
)
from tracerail.collector.store.arrow import spans_table
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.migrations.m001_spans import SPANS


def test_the_ddl_is_the_column_table() -> None:
    assert [(c.name, c.type, c.codec, c.default) for c in SPANS.columns] == [
        (c.name, c.type, c.codec, c.default) for c in SPAN_COLUMNS
    ]


def test_flatten_writes_exactly_the_written_columns_in_order() -> None:
    columns = flatten(ExportTraceServiceRequest(), project="p", retention_days=1)
    assert tuple(columns) == SPAN_COLUMN_NAMES
    assert "ingested_at" not in SPAN_COLUMN_NAMES  # filled by ClickHouse
    promoted = {*STRING_COLUMNS, *INT_COLUMNS, *FLOAT_COLUMNS, *CONTENT_COLUMNS}
    assert promoted <= set(SPAN_COLUMN_NAMES)


@pytest.mark.parametrize(
    ("clickhouse", "arrow"),
    [
        ("LowCardinality(String)", pa.string()),
        ("Nullable(Float64)", pa.float64()),
        ("DateTime64(9, 'UTC')", pa.timestamp("ns", tz="UTC")),
        ("Array(LowCardinality(String))", pa.list_(pa.string())),
        ("Map(LowCardinality(String), String)", pa.map_(pa.string(), pa.string())),
        (
            "Array(Map(LowCardinality(String), String))",
            pa.list_(pa.map_(pa.string(), pa.string())),
        ),
    ],
)
def test_arrow_types_follow_the_clickhouse_types(clickhouse: str, arrow: pa.DataType) -> None:
    assert arrow_type(clickhouse) == arrow


def test_an_unknown_type_is_named() -> None:
    with pytest.raises(ValueError, match="Decimal"):
        arrow_type("Decimal(10, 2)")


def test_the_arrow_table_inserts_into_the_ddl_table(store: ClickHouseStore) -> None:
    empty = spans_table(flatten(ExportTraceServiceRequest(), project="p", retention_days=1))
    assert empty.column_names == list(SPAN_COLUMN_NAMES)
    described = {
        r["name"]: r["type"] for r in store.query(f"DESCRIBE TABLE {store.table('spans')}")
    }
    for column in SPAN_COLUMNS:
        assert described[column.name] == column.type
    store.insert_arrow("spans", empty)  # an empty table of the derived schema is accepted
