"""``flatten`` written in ClickHouse SQL over OTLP protobuf, exactly: the probe's second step.

``bench/native_flatten.py`` first measured a *minimal* SQL flatten (4.1 ms of CPU per 1 000
spans against 18.7 for Python). This is the version that gives the same table as
:func:`~tracerail.collector.otlp.flatten.flatten` + ``spans_table``: chDB reads the request's
protobuf bytes with ``ProtobufSingle`` and a reduced OTLP schema (``AnyValue`` with its
``oneof`` presence, arrays one level deep) and reproduces the same rows, order, text of every
attribute value (Python's ``repr`` of doubles, ``json.dumps`` of arrays), promoted columns and
observation kinds. A request with anything it does not reproduce is flagged for ``flatten``
(:meth:`NativeFlattener.spans` returns ``None``): validation errors, duplicate attribute keys,
key/value-list or nested array values, control characters in array strings, promoted numbers
written unusually (``" 12"``), tokens without a cost (tracerail's price table is Python), and
non-ASCII OpenInference kinds.

Measured with ``bench/native_flatten.py`` (see ``bench/RESULTS.md``): exactness costs what the
minimal version saved, and each execution of the ~23 KB query has a fixed cost of ~0.35 s
(its analysis), so it is not in the ingest path. Kept so the measurement can be repeated.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from tracerail import semconv
from tracerail.collector.otlp.flatten import (
    MAX_ATTRIBUTES,
    MAX_EVENTS,
    MAX_LINKS,
    SPAN_KINDS,
    STATUS_CODES,
    empty_columns,
)
from tracerail.collector.otlp.promote import (
    CONTENT_COLUMNS,
    FLOAT_COLUMNS,
    INT_COLUMNS,
    OPENINFERENCE_KINDS,
    STRING_COLUMNS,
)
from tracerail.collector.store.arrow import spans_table

# The parts of opentelemetry-proto's trace messages that ``flatten`` reads. Arrays are read one
# level deep; a nested array or a key/value list only needs to be recognised (it goes to Python).
SCHEMA: Final = """syntax = "proto3";
message LeafValue { oneof value { string string_value = 1; bool bool_value = 2;
  int64 int_value = 3; double double_value = 4; bytes array_value = 5; bytes kvlist_value = 6;
  bytes bytes_value = 7; } }
message ArrayValue { repeated LeafValue values = 1; }
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2;
  int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5;
  bytes kvlist_value = 6; bytes bytes_value = 7; } }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; }
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Link { bytes trace_id = 1; bytes span_id = 2; }
message Status { string message = 2; int32 code = 3; }
message Span { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3;
  bytes parent_span_id = 4; string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; repeated Event events = 11;
  repeated Link links = 13; Status status = 15; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
"""

_ONEOF = (
    "value Enum8('none' = 0, 'string_value' = 1, 'bool_value' = 2, 'int_value' = 3, "
    "'double_value' = 4, 'array_value' = 5, 'kvlist_value' = 6, 'bytes_value' = 7)"
)
_SCALARS = "string_value String, bool_value Bool, int_value Int64, double_value Float64"
_LEAF = f"Tuple({_SCALARS}, array_value String, kvlist_value String, bytes_value String, {_ONEOF})"
_ANY = (
    f"Tuple({_SCALARS}, array_value Tuple(values Array({_LEAF})), kvlist_value String, "
    f"bytes_value String, {_ONEOF})"
)
_KV = f"Array(Tuple(key String, value {_ANY}))"
_SPAN = (
    "Tuple(trace_id String, span_id String, trace_state String, parent_span_id String, "
    "name String, kind Int32, start_time_unix_nano UInt64, end_time_unix_nano UInt64, "
    f"attributes {_KV}, events Array(Tuple(time_unix_nano UInt64, name String, attributes {_KV})),"
    " links Array(Tuple(trace_id String, span_id String)), "
    "status Tuple(message String, code Int32))"
)
STRUCTURE: Final = (
    f"resource_spans Array(Tuple(resource Tuple(attributes {_KV}), scope_spans Array(Tuple("
    f"scope Tuple(name String, version String), spans Array({_SPAN})))))"
)

# What float() and toFloat64 read alike (digits, a fraction, an exponent); else ``flatten``.
_NUMBER = r"'^-?[0-9]{1,30}(\\.[0-9]{1,30})?([eE][-+]?[0-9]{1,3})?$'"
_NOT_A_NUMBER = "('', 'true', 'false', 'nan', 'inf', '-inf')"  # float() fails or is not finite
_INT64_LIMIT = 2**63  # timestamps at or above it overflow Arrow's int64 in ``flatten`` too


def _quote(text: str) -> str:
    """A ClickHouse string literal (for the constant key names below, never request data)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _float_text(x: str) -> str:
    """Python's ``repr`` of a double: the shortest digits (ClickHouse's ``toString`` has the
    same), fixed for decimal exponents -4..15 (``0.0001``, ``1.0``), else ``1e-05``/``1e+16``.
    """
    # toString(abs(x)) is fixed or d.ddde±N; split it into digits D and exponent E of D's
    # first digit, then write them the way repr does.
    parts = (
        "arrayMap(s -> tuple(splitByChar('e', s)[1], "
        "if(position(s, 'e') > 0, toInt32(splitByChar('e', s)[2]), 0)), "
        f"[toString(abs({x}))])[1]"
    )
    digits = (
        "arrayMap(m -> tuple(concat(splitByChar('.', m.1)[1], ifNull(splitByChar('.', m.1)[2], "
        "'')), m.2 + length(splitByChar('.', m.1)[1]) - 1), [" + parts + "])[1]"
    )
    normal = (
        "arrayMap(d -> tuple(trimRight(trimLeft(d.1, '0'), '0'), "
        "d.2 - (length(d.1) - length(trimLeft(d.1, '0')))), [" + digits + "])[1]"
    )
    written = (
        "arrayMap(n -> if(n.2 >= -4 AND n.2 < 16, "
        "if(n.2 >= 0, concat(substring(rightPad(n.1, toUInt64(n.2 + 1), '0'), 1, n.2 + 1), '.', "
        "if(length(n.1) > n.2 + 1, substring(n.1, n.2 + 2), '0')), "
        "concat('0.', repeat('0', toUInt64(-n.2 - 1)), n.1)), "
        "concat(substring(n.1, 1, 1), if(length(n.1) > 1, concat('.', substring(n.1, 2)), ''), "
        "'e', if(n.2 < 0, '-', '+'), if(abs(n.2) < 10, '0', ''), toString(abs(n.2)))), "
        "[" + normal + "])[1]"
    )
    return (
        f"multiIf(NOT isFinite({x}), toString({x}), {x} = 0, concat(toString({x}), '.0'), "
        f"concat(if({x} < 0, '-', ''), {written}))"
    )


def _json_float(x: str) -> str:
    """A double in ``json.dumps`` output: ``repr``, or ``NaN``/``Infinity``/``-Infinity``."""
    return (
        f"multiIf(isNaN({x}), 'NaN', isInfinite({x}), if({x} > 0, 'Infinity', '-Infinity'), "
        f"{_float_text(x)})"
    )


def _json_string(s: str) -> str:
    return f"""concat('"', replaceAll(replaceAll({s}, '\\\\', '\\\\\\\\'), '"', '\\\\"'), '"')"""


def _scalar_cases(x: str, *, string: str, double: str, bytes_: str) -> str:
    """The ``multiIf`` branches for an ``AnyValue``'s scalar kinds; both texts share bool/int."""
    return (
        f"{x}.value = 'string_value', {string}, "
        f"{x}.value = 'bool_value', if({x}.bool_value, 'true', 'false'), "
        f"{x}.value = 'int_value', toString({x}.int_value), "
        f"{x}.value = 'double_value', {double}, "
        f"{x}.value = 'bytes_value', {bytes_}, "
    )


def _leaf_json(e: str) -> str:
    """An array element as ``json.dumps`` writes it inside ``flatten``'s array text."""
    cases = _scalar_cases(
        e,
        string=_json_string(f"{e}.string_value"),
        double=_json_float(f"{e}.double_value"),
        bytes_=f"""concat('"', base64Encode({e}.bytes_value), '"')""",
    )
    return f"""multiIf({cases}'""')"""


def _leaf_odd(e: str) -> str:
    return (
        f"({e}.value IN ('array_value', 'kvlist_value') OR ({e}.value = 'string_value' AND "
        rf"match({e}.string_value, '[\\x00-\\x1f]')))"
    )


def _value_text(v: str) -> str:
    """An ``AnyValue`` as the text ``flatten`` stores in an attribute map."""
    array = (
        f"concat('[', arrayStringConcat(arrayMap(e -> {_leaf_json('e')}, "
        f"{v}.array_value.values), ', '), ']')"
    )
    cases = _scalar_cases(
        v,
        string=f"{v}.string_value",
        double=_float_text(f"{v}.double_value"),
        bytes_=f"base64Encode({v}.bytes_value)",
    )
    return f"multiIf({cases}{v}.value = 'array_value', {array}, '')"


def _value_odd(v: str) -> str:
    return (
        f"({v}.value = 'kvlist_value' OR ({v}.value = 'array_value' AND "
        f"arrayExists(e -> {_leaf_odd('e')}, {v}.array_value.values)))"
    )


def _keys(kvs: str) -> str:
    return f"arrayMap(kv -> kv.key, {kvs})"


def _texts(kvs: str) -> str:
    return f"arrayMap(kv -> {_value_text('kv.value')}, {kvs})"


def _kv_odd(kvs: str) -> str:
    """Values or keys ``flatten`` must handle: odd values, duplicate keys, too many."""
    return (
        f"(length({kvs}) > {MAX_ATTRIBUTES} OR arrayExists(kv -> {_value_odd('kv.value')}, {kvs}) "
        f"OR length(arrayDistinct({_keys(kvs)})) != length({kvs}))"
    )


def _first(keys: tuple[str, ...]) -> str:
    """The text of the first of ``keys`` the span has, else NULL (``flatten``'s ``_lookup``)."""
    branches = ", ".join(f"has(k, {_quote(key)}), v[indexOf(k, {_quote(key)})]" for key in keys)
    return f"multiIf({branches}, NULL)"


def _first_index(keys: tuple[str, ...]) -> str:
    branches = ", ".join(f"has(k, {_quote(key)}), indexOf(k, {_quote(key)})" for key in keys)
    return f"multiIf({branches}, 0)"


def _bad_id(column: str, size: int, *, optional: bool = False) -> str:
    bad = f"(length({column}) != {size} OR {column} = repeat('\\0', {size}))"
    return f"({column} != '' AND {bad})" if optional else bad


def _int_value(t: str) -> str:
    """``flatten``'s ``_to_int``: ``int(float(text))`` clamped to UInt32, 0 when not a number."""
    number = f"if(match({t}, {_NUMBER}), toFloat64({t}), nan)"
    return (
        f"toUInt32(if({t} IS NOT NULL AND isFinite({number}), "
        f"least(greatest(trunc({number}), 0), {2**32 - 1}), 0))"
    )


def _float_value(t: str) -> str:
    """``flatten``'s ``_to_float``: the finite number the text is, else NULL."""
    number = f"if(match({t}, {_NUMBER}), toFloat64({t}), nan)"
    return f"if({t} IS NOT NULL AND isFinite({number}), {number}, NULL)"


def _number_odd(t: str) -> str:
    return f"({t} IS NOT NULL AND {t} NOT IN {_NOT_A_NUMBER} AND NOT match({t}, {_NUMBER}))"


def _fallbacks() -> dict[str, str]:
    """Why a span goes to ``flatten``, as SQL conditions over the query's columns."""
    start, end = "sp.start_time_unix_nano", "sp.end_time_unix_nano"
    numbers = " OR ".join(_number_odd(f"raw_{n}") for n in (*INT_COLUMNS, *FLOAT_COLUMNS))
    return {
        "resource attributes": "resource_odd",
        "span attributes": _kv_odd("sp.attributes"),
        "promoted number": numbers,
        "too many events or links": (
            f"length(sp.events) > {MAX_EVENTS} OR length(sp.links) > {MAX_LINKS}"
        ),
        "event": (
            f"arrayExists(e -> {_kv_odd('e.attributes')} OR e.time_unix_nano >= {_INT64_LIMIT}, "
            "sp.events)"
        ),
        "ids": (
            f"{_bad_id('sp.trace_id', 16)} OR {_bad_id('sp.span_id', 8)} OR "
            f"{_bad_id('sp.parent_span_id', 8, optional=True)}"
        ),
        "times": (
            f"({end} != 0 AND {end} < {start}) OR {start} >= {_INT64_LIMIT} "
            f"OR {end} >= {_INT64_LIMIT}"
        ),
        "cost to price": "cost_usd IS NULL AND (input_tokens > 0 OR output_tokens > 0)",
        "OpenInference kind": r"raw_kind = '' AND NOT match(oi_kind, '^[\\x00-\\x7f]*$')",
    }


def _select(path: Path, schema: Path) -> str:
    """The query: every ``spans`` column in ``SPAN_COLUMNS`` order, then ``needs_python``."""
    lookups = {
        name: _first(keys)
        for group in (STRING_COLUMNS, INT_COLUMNS, FLOAT_COLUMNS)
        for name, keys in group.items()
    }
    kinds_from = "[" + ", ".join(map(_quote, OPENINFERENCE_KINDS)) + "]"
    kinds_to = "[" + ", ".join(map(_quote, OPENINFERENCE_KINDS.values())) + "]"
    oi_kind = f"ifNull({_first((semconv.OPENINFERENCE_SPAN_KIND,))}, '')"
    content_index = {name: _first_index(keys) for name, keys in CONTENT_COLUMNS.items()}
    popped = " AND ".join(f"i != {name}_index" for name in CONTENT_COLUMNS)
    int_columns = ",\n  ".join(f"{_int_value(f'raw_{n}')} AS {n}" for n in INT_COLUMNS)
    float_columns = ",\n  ".join(f"{_float_value(f'raw_{n}')} AS {n}" for n in FLOAT_COLUMNS)
    string_columns = ",\n  ".join(
        f"ifNull(raw_{n}, '') AS {n}" for n in STRING_COLUMNS if n != "observation_kind"
    )
    start, end = "sp.start_time_unix_nano", "sp.end_time_unix_nano"
    needs_python = " OR ".join(f"({check})" for check in _fallbacks().values())
    content = ",\n  ".join(
        f"if({name}_index = 0, '', v[{name}_index]) AS {name}" for name in CONTENT_COLUMNS
    )
    return f"""
SELECT
  {{project:String}} AS project,
  fromUnixTimestamp64Nano(toInt64({start}), 'UTC') AS timestamp,
  if({end} > {start}, {end} - {start}, 0) AS duration_ns,
  lower(hex(sp.trace_id)) AS trace_id,
  lower(hex(sp.span_id)) AS span_id,
  lower(hex(sp.parent_span_id)) AS parent_span_id,
  sp.trace_state AS trace_state,
  sp.name AS name,
  if(sp.kind >= 0 AND sp.kind < {len(SPAN_KINDS)},
     arrayElement([{", ".join(map(_quote, SPAN_KINDS))}], sp.kind + 1), 'UNSPECIFIED') AS kind,
  if(has(resource_keys, {_quote(semconv.SERVICE_NAME)}),
     resource_texts[indexOf(resource_keys, {_quote(semconv.SERVICE_NAME)})],
     'unknown_service') AS service_name,
  ss.scope.name AS scope_name,
  ss.scope.version AS scope_version,
  if(sp.status.code >= 0 AND sp.status.code < {len(STATUS_CODES)},
     arrayElement([{", ".join(map(_quote, STATUS_CODES))}], sp.status.code + 1), 'UNSET')
     AS status_code,
  sp.status.message AS status_message,
  if(raw_kind != '', raw_kind, transform(upper(oi_kind), {kinds_from}, {kinds_to},
     if(request_model != '', {_quote(semconv.KIND_GENERATION)}, ''))) AS observation_kind,
  {string_columns},
  {int_columns},
  {float_columns},
  {content},
  mapFromArrays(arrayFilter((x, i) -> {popped}, k, arrayEnumerate(k)),
                arrayFilter((x, i) -> {popped}, v, arrayEnumerate(v))) AS attributes,
  mapFromArrays(resource_keys, resource_texts) AS resource_attributes,
  arrayMap(e -> fromUnixTimestamp64Nano(toInt64(e.time_unix_nano), 'UTC'), sp.events)
    AS event_timestamps,
  arrayMap(e -> e.name, sp.events) AS event_names,
  arrayMap(e -> mapFromArrays({_keys("e.attributes")}, {_texts("e.attributes")}), sp.events)
    AS event_attributes,
  arrayMap(l -> lower(hex(l.trace_id)), sp.links) AS link_trace_ids,
  arrayMap(l -> lower(hex(l.span_id)), sp.links) AS link_span_ids,
  {{retention_days:UInt16}} AS retention_days,
  toBool({needs_python}) AS needs_python
FROM (
  SELECT
    sp, ss, resource_keys, resource_texts, resource_odd,
    {_keys("sp.attributes")} AS k,
    {_texts("sp.attributes")} AS v,
    ifNull({_first((semconv.TRACERAIL_OBSERVATION_KIND,))}, '') AS raw_kind,
    {", ".join(f"{sql} AS raw_{name}" for name, sql in lookups.items())},
    {", ".join(f"{sql} AS {name}_index" for name, sql in content_index.items())},
    {oi_kind} AS oi_kind
  FROM (
    SELECT arrayJoin(ss.spans) AS sp, ss, resource_keys, resource_texts, resource_odd
    FROM (
      SELECT arrayJoin(rs.scope_spans) AS ss, resource_keys, resource_texts, resource_odd
      FROM (
        SELECT rs,
          {_keys("rs.resource.attributes")} AS resource_keys,
          {_texts("rs.resource.attributes")} AS resource_texts,
          {_kv_odd("rs.resource.attributes")} AS resource_odd
        FROM (
          SELECT arrayJoin(resource_spans) AS rs
          FROM file({_quote(str(path))}, 'ProtobufSingle', {_quote(STRUCTURE)})
        )
      )
    )
  )
)
SETTINGS format_schema = {_quote(f"{schema}:ExportTraceServiceRequest")},
  input_format_protobuf_oneof_presence = 1, precise_float_parsing = 1, max_threads = 1,
  output_format_arrow_string_as_string = 1
"""


class NativeFlattener:
    """chDB in this process turning serialized requests into ``spans`` tables (see module).

    chDB allows one embedded server per process: use it where no store is open.
    """

    def __init__(self) -> None:
        import chdb  # the embedded server starts with the first connection, in this process

        self._dir = tempfile.TemporaryDirectory(prefix="tracerail-native-")
        schema = Path(self._dir.name) / "otlp_trace.proto"
        schema.write_text(SCHEMA)
        self._input = Path(self._dir.name) / "request.pb"
        self.sql = _select(self._input, schema)
        self._connection = chdb.connect(":memory:")
        self._schema = spans_table(empty_columns()).schema

    def spans(self, payload: bytes, *, project: str, retention_days: int) -> pa.Table | None:
        """The ``spans`` table of a serialized request, or ``None`` if ``flatten`` must do it."""
        self._input.write_bytes(payload)
        params: dict[str, Any] = {"project": project, "retention_days": retention_days}
        table: pa.Table = self._connection.query(self.sql, "ArrowTable", params=params)
        if table.num_rows == 0 or pc.any(table.column("needs_python")).as_py():
            return None
        return table.drop_columns(["needs_python"]).cast(self._schema)

    def double_texts(self, values: list[float]) -> tuple[list[str], list[str]]:
        """``values`` as the query writes them in attribute maps and in array JSON."""
        doubles = pa.table({"x": pa.array(values, pa.float64())})  # noqa: F841 (read by name)
        table = self._connection.query(
            f"SELECT {_float_text('x')} AS text, {_json_float('x')} AS json FROM Python(doubles)",
            "ArrowTable",
        )
        return table.column("text").to_pylist(), table.column("json").to_pylist()

    def close(self) -> None:
        self._connection.close()
        self._dir.cleanup()
