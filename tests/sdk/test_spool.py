"""The SDK's on-disk spool against the real collector: outage, app restart, bound, order."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.support.server import free_port, serve_in_thread
from tracerail import semconv
from tracerail.collector import create_app
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.config import resolve_config
from tracerail.runtime import _otlp_exporter
from tracerail.spool import SpoolingExporter


def _exporter(port: int, spool: Path, max_bytes: int = 1 << 30) -> SpoolingExporter:
    url = f"http://127.0.0.1:{port}/v1/traces"
    # A short exporter timeout keeps the first failed export (before spooling) quick.
    return SpoolingExporter(
        OTLPSpanExporter(endpoint=url, timeout=1),
        spool,
        endpoint=url,
        max_bytes=max_bytes,
        retry_seconds=0.2,
    )


def _emit(exporter: SpoolingExporter, names: list[str]) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "spool-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # one batch per span
    tracer = provider.get_tracer("t")
    for name in names:
        with tracer.start_as_current_span(name):
            pass


def _stored(store: ClickHouseStore) -> list[str]:
    rows = store.query(f"SELECT name FROM {store.table('spans')} ORDER BY ingested_at, name")
    return [str(r["name"]) for r in rows]


def _wait_empty(exporter: SpoolingExporter, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while exporter.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not exporter.pending()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def later_collector(
    settings: Settings, store: ClickHouseStore, port: int
) -> Iterator[Callable[[], None]]:
    """Starts the collector on ``port`` when called (it is down until then)."""
    servers = []

    def start() -> None:
        servers.append(serve_in_thread(create_app(settings, store=store), port=port))

    yield start
    for server in servers:
        server.stop()


def _resend_all(exporter: SpoolingExporter, start_collector: Callable[[], None]) -> None:
    """Bring the collector up, wait until the spool is resent, then stop the exporter."""
    start_collector()
    _wait_empty(exporter)
    exporter.shutdown()


def test_outage_is_bridged_by_the_spool(
    tmp_path: Path, store: ClickHouseStore, port: int, later_collector: Callable[[], None]
) -> None:
    exporter = _exporter(port, tmp_path)
    names = [f"outage-{i:03d}" for i in range(40)]
    _emit(exporter, names)
    assert len(exporter.files()) == 40
    assert exporter.spooled_spans == 40
    _resend_all(exporter, later_collector)
    assert sorted(_stored(store)) == names  # all of them, each once
    assert exporter.resent_spans == 40 and exporter.dropped_spans == 0


def test_spool_survives_an_application_restart(
    tmp_path: Path, store: ClickHouseStore, port: int, later_collector: Callable[[], None]
) -> None:
    first = _exporter(port, tmp_path)
    _emit(first, ["before-restart-1", "before-restart-2"])
    first.shutdown()  # the application exits with the collector still down
    assert len(list(tmp_path.glob("*.otlp"))) == 2
    later_collector()
    second = _exporter(port, tmp_path)  # the application starts again
    _wait_empty(second)
    second.shutdown()
    assert sorted(_stored(store)) == ["before-restart-1", "before-restart-2"]


def test_spool_is_resent_oldest_first(
    tmp_path: Path, store: ClickHouseStore, port: int, later_collector: Callable[[], None]
) -> None:
    exporter = _exporter(port, tmp_path)
    _emit(exporter, [f"ordered-{i:02d}" for i in range(15)])
    _resend_all(exporter, later_collector)
    rows = store.query(f"SELECT name, ingested_at FROM {store.table('spans')} ORDER BY name")
    times = [r["ingested_at"] for r in rows]
    assert times == sorted(times)  # ingested in the order they were produced


def test_full_spool_drops_the_oldest_with_a_counted_warning(
    tmp_path: Path, port: int, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = _exporter(port, tmp_path, max_bytes=1)  # each new batch evicts the previous one
    with caplog.at_level(logging.WARNING, logger="tracerail"):
        _emit(exporter, ["a", "b", "c", "d"])
    exporter.shutdown()
    assert exporter.dropped_spans == 3
    assert len(exporter.files()) == 1
    assert any("dropped the 1 oldest spans (3 dropped so far)" in r.message for r in caplog.records)


def test_init_spool_settings_wire_the_spooling_exporter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_SPOOL_DIR, str(tmp_path / "from-env"))
    monkeypatch.setenv(semconv.ENV_SPOOL_MAX_MB, "3")
    config = resolve_config()
    assert config.spool_dir == str(tmp_path / "from-env") and config.spool_max_mb == 3
    config = resolve_config(spool_dir=str(tmp_path / "arg"), spool_max_mb=5)
    exporter = _otlp_exporter(config)
    assert isinstance(exporter, SpoolingExporter)
    assert exporter.directory == tmp_path / "arg" and exporter.max_bytes == 5 * 1024 * 1024
    exporter.shutdown()
