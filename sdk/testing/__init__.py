"""A local stand-in for the OpenAI and Anthropic APIs, for tests and offline examples.

::

    from tracerail.testing import LocalModelServer

    with LocalModelServer() as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test")

Standard library only; it speaks the providers' JSON and server-sent-event wire formats so the
real ``openai`` and ``anthropic`` packages run against it unchanged.
"""

from __future__ import annotations

from tracerail.testing.server import LocalModelServer, RecordedRequest
from tracerail.testing.wire import SNAPSHOT_SUFFIX, chunks_of, count_tokens

__all__ = ["SNAPSHOT_SUFFIX", "LocalModelServer", "RecordedRequest", "chunks_of", "count_tokens"]
