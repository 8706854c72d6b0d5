"""A corpus of ≥100 malformed requests: each gets a 4xx JSON error, nothing is stored."""

from __future__ import annotations

import json
import re
import socket
import threading

import httpx
import pytest

from tests.support.malformed import Case, corpus
from tests.support.server import RunningServer
from tracerail.collector.store.clickhouse import ClickHouseStore

HUNDRED_MB = 100 * 1024 * 1024


def _check(response: httpx.Response, case: Case) -> str | None:
    if not 400 <= response.status_code < 500:
        return f"{case.name}: HTTP {response.status_code} {response.text[:200]}"
    try:
        body = response.json()
    except json.JSONDecodeError:
        return f"{case.name}: not JSON: {response.text[:200]}"
    if not isinstance(body, dict) or not body.get("error") or "detail" not in body:
        return f"{case.name}: not an error body: {body}"
    return None


def _raw_exchange(
    port: int, head: bytes, chunks: int, chunk: bytes
) -> tuple[int, dict[str, object]]:
    """Send ``head`` and up to ``chunks`` chunks from a thread; read the answer meanwhile."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:

        def send() -> None:
            try:
                sock.sendall(head)
                for _ in range(chunks):
                    sock.sendall(chunk)
            except OSError:  # the server answered and closed: expected
                pass

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        received = b""
        while True:
            data = sock.recv(65536)
            if not data:
                break
            received += data
            head_end = received.find(b"\r\n\r\n")
            if head_end >= 0:
                length = re.search(rb"content-length: (\d+)", received[:head_end].lower())
                if length and len(received) >= head_end + 4 + int(length.group(1)):
                    break
        sock.shutdown(socket.SHUT_RDWR)
        sender.join(timeout=60)
    status = int(received.split(b" ", 2)[1])
    payload = json.loads(received.split(b"\r\n\r\n", 1)[1])
    return status, payload


def test_corpus_is_large_enough() -> None:
    assert len(corpus()) >= 100


def test_every_malformed_request_gets_a_4xx_json_error(
    collector: RunningServer, store: ClickHouseStore
) -> None:
    problems = []
    with httpx.Client(base_url=collector.base_url, timeout=60) as client:
        for case in corpus():
            response = client.request(
                case.method,
                case.path,
                content=case.body or None,
                headers=case.request_headers(),
                params=case.params,
            )
            problem = _check(response, case)
            if problem:
                problems.append(problem)
            assert client.get("/healthz").status_code == 200, f"server down after {case.name}"
    assert problems == []
    spans = store.query(f"SELECT count() AS n FROM {store.table('spans')}")[0]["n"]
    assert spans == 0, "a malformed request left rows behind"


@pytest.mark.parametrize("chunked", [False, True], ids=["declared-100MB", "streamed-100MB"])
def test_hundred_megabyte_body_is_refused_without_reading_it_all(
    collector: RunningServer, store: ClickHouseStore, chunked: bool
) -> None:
    chunk = b"\x00" * (1024 * 1024)
    if chunked:
        head = (
            b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        status, payload = _raw_exchange(collector.port, head, 100, framed)
    else:
        head = (
            b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-protobuf\r\n"
            b"Content-Length: %d\r\n\r\n" % HUNDRED_MB
        )
        status, payload = _raw_exchange(collector.port, head, 100, chunk)
    assert status == 413
    assert payload["error"] == "body_too_large"
    assert httpx.get(f"{collector.base_url}/healthz").status_code == 200
    assert store.query(f"SELECT count() AS n FROM {store.table('spans')}")[0]["n"] == 0
