"""Completeness stamps: each span gets its exporter instance id and a sequence number.

One :class:`SequenceStamper` per ``init()``: a random instance id and a counter from 1. Numbers
are taken when a span starts (sampled-out spans never start a recording span, so they take
none), so a number the collector never receives belongs to a span that was started, recorded
and then lost: dropped from a full queue, failed export, or a process that died first.
"""

from __future__ import annotations

import itertools
import uuid

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span, SpanProcessor

from tracerail import semconv


class SequenceStamper(SpanProcessor):
    """Sets ``tracerail.exporter.instance_id`` and ``tracerail.exporter.seq`` on span start."""

    def __init__(self, instance_id: str | None = None) -> None:
        self.instance_id = instance_id or uuid.uuid4().hex
        # next() of itertools.count is one C call: atomic under the GIL, no lock needed.
        self._counter = itertools.count(1)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        span.set_attributes(
            {
                semconv.TRACERAIL_EXPORTER_INSTANCE: self.instance_id,
                semconv.TRACERAIL_EXPORTER_SEQ: next(self._counter),
            }
        )
