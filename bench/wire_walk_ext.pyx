# cython: language_level=3, boundscheck=True, wraparound=False
"""Walk OTLP ``ExportTraceServiceRequest`` bytes in Cython: the probe of ``bench/wire_walk.py``.

Produces what ``flatten`` reads from the upb message before its column logic: per span the raw
ids, names, kind, times, status, the attribute map as ``attributes_map`` writes it, events
and the resource map. Key/value-list values go back to Python (``_json_text`` on the upb
``AnyValue``). Not in the ingest path; it assumes bytes upb already accepted.
"""

from libc.stdint cimport int32_t, int64_t, uint64_t
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memcpy

import base64

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from tracerail.collector.otlp.flatten import _encode_json, _json_text, any_value_json


cdef uint64_t varint(const unsigned char[:] b, Py_ssize_t* pos, Py_ssize_t end) except? 0xFFFFFFFFFFFFFFFF:
    cdef uint64_t result = 0
    cdef int shift = 0
    cdef unsigned char byte
    while True:
        if pos[0] >= end or shift >= 70:
            raise ValueError("bad varint")
        byte = b[pos[0]]
        pos[0] += 1
        result |= (<uint64_t>(byte & 0x7F)) << shift
        if byte < 0x80:
            return result
        shift += 7


cdef uint64_t fixed64(const unsigned char[:] b, Py_ssize_t pos, Py_ssize_t end) except? 0xFFFFFFFFFFFFFFFF:
    cdef uint64_t value = 0
    cdef int i
    if pos + 8 > end:
        raise ValueError("truncated fixed64")
    for i in range(8):
        value |= (<uint64_t>b[pos + i]) << (8 * i)
    return value


cdef Py_ssize_t skip(const unsigned char[:] b, Py_ssize_t pos, Py_ssize_t end, int wire) except -1:
    if wire == 0:
        varint(b, &pos, end)
        return pos
    if wire == 1:
        return pos + 8
    if wire == 2:
        return pos + <Py_ssize_t>varint(b, &pos, end)
    if wire == 5:
        return pos + 4
    raise ValueError("unsupported wire type")


cdef str text(const unsigned char[:] b, Py_ssize_t start, Py_ssize_t end):
    if start == end:
        return ""
    if end > b.shape[0]:
        raise ValueError("truncated")
    return PyUnicode_DecodeUTF8(<const char*>&b[start], end - start, NULL)


cdef bytes raw_bytes(const unsigned char[:] b, Py_ssize_t start, Py_ssize_t end):
    if start == end:
        return b""
    if end > b.shape[0]:
        raise ValueError("truncated")
    return PyBytes_FromStringAndSize(<const char*>&b[start], end - start)


cdef object any_value(const unsigned char[:] b, Py_ssize_t start, Py_ssize_t end, bint as_json):
    """An AnyValue as attribute text (``as_json`` false) or as plain JSON data."""
    cdef Py_ssize_t pos = start, vstart = 0, vend = 0
    cdef uint64_t key, raw = 0
    cdef int field = 0, f
    cdef double d
    while pos < end:
        key = varint(b, &pos, end)
        f = <int>(key >> 3)
        if 1 <= f <= 7:
            field = f
            if f in (1, 5, 6, 7):
                vend = <Py_ssize_t>varint(b, &pos, end)
                vstart = pos
                vend = vstart + vend
                pos = vend
            elif f == 4:
                raw = fixed64(b, pos, end)
                pos += 8
            else:
                raw = varint(b, &pos, end)
        else:
            pos = skip(b, pos, end, <int>(key & 7))
    if field == 1:
        return text(b, vstart, vend)
    if field == 2:
        if as_json:
            return raw != 0
        return "true" if raw else "false"
    if field == 3:
        return (<int64_t>raw) if as_json else str(<int64_t>raw)
    if field == 4:
        memcpy(&d, &raw, 8)
        return d if as_json else repr(d)
    if field == 5:
        values = array_values(b, vstart, vend)
        return values if as_json else _encode_json(values)
    if field == 6:
        value = AnyValue.FromString(raw_bytes(b, start, end))
        return any_value_json(value) if as_json else _json_text(value)
    if field == 7:
        return base64.b64encode(raw_bytes(b, vstart, vend)).decode()
    return ""


cdef list array_values(const unsigned char[:] b, Py_ssize_t start, Py_ssize_t end):
    cdef Py_ssize_t pos = start, n
    cdef uint64_t key
    out = []
    while pos < end:
        key = varint(b, &pos, end)
        if key == 10:
            n = <Py_ssize_t>varint(b, &pos, end)
            out.append(any_value(b, pos, pos + n, True))
            pos += n
        else:
            pos = skip(b, pos, end, <int>(key & 7))
    return out


cdef void key_value(const unsigned char[:] b, Py_ssize_t start, Py_ssize_t end, dict into) except *:
    cdef Py_ssize_t pos = start, n, vstart = 0, vend = 0
    cdef uint64_t key
    name = ""
    while pos < end:
        key = varint(b, &pos, end)
        if key == 10:
            n = <Py_ssize_t>varint(b, &pos, end)
            name = text(b, pos, pos + n)
            pos += n
        elif key == 18:
            n = <Py_ssize_t>varint(b, &pos, end)
            vstart = pos
            vend = pos + n
            pos = vend
        else:
            pos = skip(b, pos, end, <int>(key & 7))
    into[name] = any_value(b, vstart, vend, False) if vend else ""


cdef dict attributes(const unsigned char[:] b, Py_ssize_t start, Py_ssize_t end, uint64_t tag):
    """Every KeyValue with field key ``tag`` in [start, end) as one map."""
    cdef Py_ssize_t pos = start, n
    cdef uint64_t key
    cdef dict out = {}
    while pos < end:
        key = varint(b, &pos, end)
        if key == tag:
            n = <Py_ssize_t>varint(b, &pos, end)
            key_value(b, pos, pos + n, out)
            pos += n
        else:
            pos = skip(b, pos, end, <int>(key & 7))
    return out


cdef tuple event(const unsigned char[:] b, Py_ssize_t start, Py_ssize_t end):
    cdef Py_ssize_t pos = start, n
    cdef uint64_t key, time = 0
    name = ""
    attrs = {}
    while pos < end:
        key = varint(b, &pos, end)
        if key == 9:
            time = fixed64(b, pos, end)
            pos += 8
        elif key == 18:
            n = <Py_ssize_t>varint(b, &pos, end)
            name = text(b, pos, pos + n)
            pos += n
        elif key == 26:
            n = <Py_ssize_t>varint(b, &pos, end)
            key_value(b, pos, pos + n, attrs)
            pos += n
        else:
            pos = skip(b, pos, end, <int>(key & 7))
    return (time, name, attrs)


cdef tuple span(const unsigned char[:] b, Py_ssize_t start, Py_ssize_t end):
    cdef Py_ssize_t pos = start, n
    cdef uint64_t key, begin = 0, finish = 0
    cdef int32_t kind = 0, code = 0
    trace_id = span_id = parent = b""
    state = name = message = ""
    attrs = {}
    events = []
    links = 0
    while pos < end:
        key = varint(b, &pos, end)
        if key == 57:
            begin = fixed64(b, pos, end)
            pos += 8
        elif key == 65:
            finish = fixed64(b, pos, end)
            pos += 8
        elif key == 48:
            kind = <int32_t>varint(b, &pos, end)
        elif (key & 7) == 2:
            n = <Py_ssize_t>varint(b, &pos, end)
            if key == 10:
                trace_id = raw_bytes(b, pos, pos + n)
            elif key == 18:
                span_id = raw_bytes(b, pos, pos + n)
            elif key == 26:
                state = text(b, pos, pos + n)
            elif key == 34:
                parent = raw_bytes(b, pos, pos + n)
            elif key == 42:
                name = text(b, pos, pos + n)
            elif key == 74:
                key_value(b, pos, pos + n, attrs)
            elif key == 90:
                events.append(event(b, pos, pos + n))
            elif key == 106:
                links += 1
            elif key == 122:
                code, message = status(b, pos, pos + n)
            pos += n
        else:
            pos = skip(b, pos, end, <int>(key & 7))
    return (trace_id, span_id, parent, state, name, kind, begin, finish, attrs, events,
            links, code, message)


cdef tuple status(const unsigned char[:] b, Py_ssize_t start, Py_ssize_t end):
    cdef Py_ssize_t pos = start, n
    cdef uint64_t key
    cdef int32_t code = 0
    message = ""
    while pos < end:
        key = varint(b, &pos, end)
        if key == 18:
            n = <Py_ssize_t>varint(b, &pos, end)
            message = text(b, pos, pos + n)
            pos += n
        elif key == 24:
            code = <int32_t>varint(b, &pos, end)
        else:
            pos = skip(b, pos, end, <int>(key & 7))
    return (code, message)


def walk(const unsigned char[:] b):
    """(spans, resources): per span the tuple of :func:`span`, and its resource map."""
    cdef Py_ssize_t pos = 0, end = b.shape[0], n, rpos, rend, n2, spos, send, n3
    cdef uint64_t key, k2, k3
    spans = []
    resources = []
    while pos < end:
        key = varint(b, &pos, end)
        if key != 10:
            pos = skip(b, pos, end, <int>(key & 7))
            continue
        n = <Py_ssize_t>varint(b, &pos, end)
        rpos, rend = pos, pos + n
        pos = rend
        resource = {}
        while rpos < rend:
            k2 = varint(b, &rpos, rend)
            if k2 == 10:
                n2 = <Py_ssize_t>varint(b, &rpos, rend)
                resource = attributes(b, rpos, rpos + n2, 10)
                rpos += n2
            elif k2 == 18:
                n2 = <Py_ssize_t>varint(b, &rpos, rend)
                spos, send = rpos, rpos + n2
                rpos = send
                while spos < send:
                    k3 = varint(b, &spos, send)
                    if k3 == 18:
                        n3 = <Py_ssize_t>varint(b, &spos, send)
                        spans.append(span(b, spos, spos + n3))
                        resources.append(resource)
                        spos += n3
                    else:
                        spos = skip(b, spos, send, <int>(k3 & 7))
            else:
                rpos = skip(b, rpos, rend, <int>(k2 & 7))
    return spans, resources
