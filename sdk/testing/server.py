"""A loopback HTTP server that answers like the OpenAI and Anthropic APIs (stdlib only).

Routes: ``POST /v1/chat/completions``, ``/v1/responses``, ``/v1/embeddings`` (OpenAI:
``base_url=server.openai_base_url``) and ``/v1/messages`` (Anthropic: ``base_url=server.url``).
JSON answers, or server-sent events when the request says ``"stream": true`` (chat usage in the
final chunk when ``stream_options.include_usage``). :meth:`LocalModelServer.fail_next` queues an
error response (400, 429, 500, ...) in the provider's error format;
:meth:`LocalModelServer.script_replies` queues answer texts for the next requests (a scripted
judge, say). Every request body is kept
in :attr:`LocalModelServer.requests`, so a test can see exactly what a client sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tracerail.testing import wire

OPENAI_PATHS = ("/v1/chat/completions", "/v1/responses", "/v1/embeddings")
ANTHROPIC_PATH = "/v1/messages"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the server received."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]


class LocalModelServer:
    """Start with ``with LocalModelServer() as server:`` or :meth:`start` / :meth:`stop`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._errors: deque[tuple[int, str]] = deque()
        self._replies: deque[str] = deque()
        self.knobs = wire.Knobs()
        self.chunk_delay = 0.0
        self.reply_delay = 0.0  # seconds before a JSON answer (a slow model, for timeouts)
        self.requests: list[RecordedRequest] = []

    # --- control ---------------------------------------------------------------------------------

    def set_reply(self, text: str | None) -> None:
        """Answer every request with ``text`` (None: echo the last user text)."""
        self.knobs = replace(self.knobs, reply=text)

    def set_usage(
        self, *, cached_tokens: int = 0, cache_write_tokens: int = 0, reasoning_tokens: int = 0
    ) -> None:
        """Report these cached / cache-write / reasoning token counts from now on."""
        self.knobs = replace(
            self.knobs,
            cached_tokens=cached_tokens,
            cache_write_tokens=cache_write_tokens,
            reasoning_tokens=reasoning_tokens,
        )

    def fail_next(self, status: int, message: str = "simulated error") -> None:
        """Answer the next request with this HTTP error."""
        with self._lock:
            self._errors.append((status, message))

    def script_replies(self, *texts: str) -> None:
        """Answer the next requests with ``texts``, one each, in order (then as before)."""
        with self._lock:
            self._replies.extend(texts)

    def reset(self) -> None:
        with self._lock:
            self._errors.clear()
            self._replies.clear()
            self.requests.clear()
        self.knobs = wire.Knobs()
        self.chunk_delay = 0.0
        self.reply_delay = 0.0

    # --- lifecycle -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> LocalModelServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(self._address, Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="tracerail-local-model", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- used by the handler ---------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> tuple[int, str] | None:
        with self._lock:
            self.requests.append(request)
            return self._errors.popleft() if self._errors else None

    def _knobs(self) -> wire.Knobs:
        """The knobs for one answer: the next scripted reply, if any, replaces ``reply``."""
        with self._lock:
            scripted = self._replies.popleft() if self._replies else None
        return self.knobs if scripted is None else replace(self.knobs, reply=scripted)


class _Handler(BaseHTTPRequestHandler):
    owner: LocalModelServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read requests from the server, not from stderr."""

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        if status == 200 and self.owner.reply_delay:
            time.sleep(self.owner.reply_delay)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", "req_local")
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            self.close_connection = True

    def _send_events(self, events: Iterator[tuple[str | None, dict[str, Any]]], done: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for name, data in events:
            head = f"event: {name}\n" if name else ""
            self.wfile.write(f"{head}data: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()
            if self.owner.chunk_delay:
                time.sleep(self.owner.chunk_delay)
        if done:
            self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            body = None
        path = self.path.split("?", 1)[0]
        is_anthropic = path == ANTHROPIC_PATH
        if path not in (*OPENAI_PATHS, ANTHROPIC_PATH):
            self._send_json(404, wire.error_body(is_anthropic, 404, f"no route {path}"))
            return
        if not isinstance(body, dict):
            self._send_json(400, wire.error_body(is_anthropic, 400, "body must be a JSON object"))
            return
        failure = self.owner._record(RecordedRequest(path, body, dict(self.headers.items())))
        if failure is not None:
            status, message = failure
            self._send_json(status, wire.error_body(is_anthropic, status, message))
            return
        if path == "/v1/embeddings":
            self._send_json(200, wire.embeddings(body))
            return
        answer = wire.answer_for(body, self.owner._knobs())
        stream = body.get("stream") is True
        if path == "/v1/chat/completions":
            if stream:
                options = body.get("stream_options") or {}
                self._send_events(
                    wire.chat_chunks(answer, bool(options.get("include_usage"))), True
                )
            else:
                self._send_json(200, wire.chat_completion(answer))
        elif path == "/v1/responses":
            if stream:
                self._send_events(wire.response_events(answer), False)
            else:
                self._send_json(200, wire.response(answer))
        elif stream:
            self._send_events(wire.anthropic_events(answer), False)
        else:
            self._send_json(200, wire.anthropic_message(answer))
