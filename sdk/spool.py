"""An on-disk spool so spans survive collector outages and application restarts.

:class:`SpoolingExporter` wraps the OTLP exporter. A batch the exporter could not deliver
(after its own retries) is written to ``spool_dir`` as the OTLP protobuf request it would have
sent (temp file, ``fsync``, rename). While the spool holds anything, new batches go straight to
its end, so delivery order is kept and the application's export thread never waits on a dead
collector. A background thread re-sends the files oldest first every ``retry_seconds`` and
deletes each after a 2xx answer. 429, 5xx, no answer, and 401/403/404/408 (a key or URL an
operator can fix) keep it; any other 4xx (400, 413, 415) means the collector will never take
the batch, so it is dropped with a counted warning instead of blocking the spool forever.

The spool is bounded by ``max_bytes``: when a new batch would exceed it, the oldest files are
deleted and their spans counted in :attr:`SpoolingExporter.dropped_spans` with a warning.
"""

from __future__ import annotations

import gzip
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

logger = logging.getLogger("tracerail")

SUFFIX = ".otlp"
# Answers after which a batch is kept for later: overload, and auth problems an operator fixes.
_KEEP = frozenset({401, 403, 404, 408, 429})


def _span_count(path: Path) -> int:
    try:
        return int(path.stem.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


class SpoolingExporter(SpanExporter):
    """Deliver through ``inner``; persist what it cannot deliver and re-send it in order."""

    def __init__(
        self,
        inner: SpanExporter,
        spool_dir: str | os.PathLike[str],
        *,
        endpoint: str,
        headers: Mapping[str, str] | None = None,
        max_bytes: int = 256 * 1024 * 1024,
        retry_seconds: float = 1.0,
        timeout: float = 10.0,
    ) -> None:
        self.inner = inner
        self.directory = Path(spool_dir)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.endpoint = endpoint
        self.headers = dict(headers or {})
        self.max_bytes = max_bytes
        self.retry_seconds = retry_seconds
        self.timeout = timeout
        self.dropped_spans = 0
        self.spooled_spans = 0
        self.resent_spans = 0
        self._seq = 0
        self._lock = threading.Lock()  # spool directory changes
        self._send_lock = threading.Lock()  # one re-send pass at a time
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._session: object | None = None
        self._thread = threading.Thread(
            target=self._drain_loop, name="tracerail-spool", daemon=True
        )
        self._thread.start()

    # --- SpanExporter ---------------------------------------------------------------------
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            if not self.pending():
                result = self.inner.export(spans)
                if result is SpanExportResult.SUCCESS:
                    return result
            self._spool(spans)
            return SpanExportResult.SUCCESS
        except Exception:
            logger.exception("tracerail: could not spool %d spans", len(spans))
            return SpanExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Try to re-send the spool now; True when it is empty."""
        deadline = time.monotonic() + timeout_millis / 1000
        while self.pending() and time.monotonic() < deadline:
            if not self.drain():
                time.sleep(min(self.retry_seconds, max(deadline - time.monotonic(), 0)))
        return not self.pending()

    def shutdown(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self.timeout + 5)
        self.inner.shutdown()

    # --- the spool --------------------------------------------------------------------------
    def files(self) -> list[Path]:
        """Spooled batches, oldest first."""
        return sorted(self.directory.glob(f"*{SUFFIX}"))

    def pending(self) -> bool:
        return any(True for _ in self.directory.glob(f"*{SUFFIX}"))

    def _spool(self, spans: Sequence[ReadableSpan]) -> None:
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        data = encode_spans(spans).SerializeToString()
        with self._lock:
            self._make_room(len(data))
            self._seq += 1
            name = f"{time.time_ns():020d}-{os.getpid()}-{self._seq:08d}-{len(spans)}{SUFFIX}"
            tmp = self.directory / f".{name}.tmp"
            with tmp.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            tmp.rename(self.directory / name)
            self.spooled_spans += len(spans)

    def _make_room(self, incoming: int) -> None:
        files = self.files()
        sizes = [f.stat().st_size for f in files]
        total = sum(sizes)
        dropped = 0
        while files and total + incoming > self.max_bytes:
            oldest = files.pop(0)
            total -= sizes.pop(0)
            dropped += _span_count(oldest)
            oldest.unlink(missing_ok=True)
        if dropped:
            self.dropped_spans += dropped
            logger.warning(
                "tracerail: spool is full (%d bytes); dropped the %d oldest spans "
                "(%d dropped so far)",
                self.max_bytes,
                dropped,
                self.dropped_spans,
            )

    def _post(self, data: bytes) -> int | None:
        """POST one spooled request; the status, or None when the collector is unreachable."""
        import requests

        if self._session is None:
            self._session = requests.Session()
        session: requests.Session = self._session  # type: ignore[assignment]
        headers = {
            **self.headers,
            "Content-Type": "application/x-protobuf",
            "Content-Encoding": "gzip",
        }
        try:
            response = session.post(
                self.endpoint, data=gzip.compress(data), headers=headers, timeout=self.timeout
            )
        except requests.RequestException:
            return None
        return response.status_code

    def drain(self) -> bool:
        """Re-send spooled batches oldest first; True when the spool was emptied."""
        with self._send_lock:
            for path in self.files():
                try:
                    data = path.read_bytes()
                except FileNotFoundError:  # dropped to make room meanwhile
                    continue
                status = self._post(data)
                if status is None or status in _KEEP or status >= 500:
                    return False
                if not 200 <= status < 300:
                    self.dropped_spans += _span_count(path)
                    logger.warning(
                        "tracerail: collector refused a spooled batch (HTTP %d); dropped %d spans",
                        status,
                        _span_count(path),
                    )
                else:
                    self.resent_spans += _span_count(path)
                with self._lock:
                    path.unlink(missing_ok=True)
            return True

    def _drain_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.retry_seconds)
            self._wake.clear()
            if self.pending():
                try:
                    self.drain()
                except Exception:
                    logger.exception("tracerail: spool re-send failed")
