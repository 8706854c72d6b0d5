"""``create_app(settings, store=None)``: the collector's FastAPI application."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from tracerail.collector.api import (
    audit,
    dashboard,
    evaluators,
    guardrails,
    health,
    keys,
    metrics,
    otlp,
    projects,
    reports,
    review,
    scores,
    sessions,
    subjects,
    traces,
)
from tracerail.collector.api.errors import install_error_handlers
from tracerail.collector.auth import KeyRing, check_bind
from tracerail.collector.checkpoints import Checkpointer
from tracerail.collector.ingest import IngestBatcher, IngestLimits
from tracerail.collector.online_eval import YIELD_BACKLOG_SPANS, OnlineEvaluator
from tracerail.collector.prepare import PreparePool
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.wal import WriteAheadLog
from tracerail.version import __version__

logger = logging.getLogger("tracerail.collector")


def _without_native_telemetry() -> dict[str, Any]:
    """Turn off FastAPI's built-in OpenTelemetry where it exists.

    A collector that traces its own ingest requests through a global provider feeds its spans
    back into itself (and an SDK in the same process would export them to us on every insert).
    """
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    return {}


def _start_online_evaluator(
    store: ClickHouseStore, settings: Settings, batcher: IngestBatcher
) -> OnlineEvaluator | None:
    """The background evaluator (``online_eval_*`` settings), started; None when off. It
    waits while ingest holds a backlog (its queries share the store with ingest's inserts)."""
    if not settings.online_eval_enabled:
        return None

    def busy() -> bool:
        return batcher.backlog_spans > YIELD_BACKLOG_SPANS

    worker = OnlineEvaluator.from_settings(store, settings, busy)
    worker.start()
    logger.info("online evaluator %s %s started", worker.evaluator.name, worker.evaluator.version)
    return worker


def create_app(settings: Settings | None = None, store: ClickHouseStore | None = None) -> FastAPI:
    """Build the app. Without ``store`` one is opened from ``settings.storage`` at startup."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        check_bind(settings)
        owned = store is None
        active = store or ClickHouseStore(
            settings.storage, settings.database, cluster=settings.cluster
        )
        storage_up = True
        if settings.migrate_on_start:
            try:
                await asyncio.to_thread(active.migrate)
            except ValueError:
                raise
            except Exception as exc:
                # Start anyway: ingest goes to the WAL until storage answers (see ingest.py).
                logger.error("storage unavailable at start, ingest goes to the WAL: %s", exc)
                storage_up = False
        wal = WriteAheadLog(settings.wal_path(), settings.wal_max_mb * 1024 * 1024)
        batcher = IngestBatcher(
            active,
            wal,
            IngestLimits.from_settings(settings),
            pool=PreparePool(settings.ingest_workers),
        )
        batcher.storage_ok = storage_up
        await batcher.start()
        keyring = KeyRing(active, settings)
        app.state.store = active
        app.state.batcher = batcher
        app.state.keyring = keyring
        if storage_up and not await asyncio.to_thread(keyring.required):
            logger.warning(
                "AUTH IS OFF: no API keys exist and the collector listens on loopback %s, so "
                "every local process can write and read project %r. Create a key with "
                "`tracerail keys create --project NAME` to turn auth on.",
                settings.host,
                settings.project,
            )
        grpc_ingest = None
        app.state.grpc_port = None
        if settings.grpc_port:
            from tracerail.collector.api.otlp_grpc import GrpcIngest  # grpcio only when enabled

            grpc_ingest = GrpcIngest(batcher, settings, keyring)
            app.state.grpc_port = await grpc_ingest.start()
        app.state.online_evaluator = _start_online_evaluator(active, settings, batcher)
        app.state.checkpointer = Checkpointer.from_settings(active, settings)
        if app.state.checkpointer is not None:
            app.state.checkpointer.start()
        logger.info(
            "tracerail collector ready (storage %s)", "chdb" if active.embedded else "clickhouse"
        )
        try:
            yield
        finally:
            if app.state.online_evaluator is not None:
                await asyncio.to_thread(app.state.online_evaluator.stop)
            if app.state.checkpointer is not None:
                await asyncio.to_thread(app.state.checkpointer.stop)
            if grpc_ingest is not None:
                await grpc_ingest.stop()
            await batcher.stop()
            if owned:
                active.close()

    app = FastAPI(
        **_without_native_telemetry(),
        title="tracerail collector",
        version=__version__,
        description="OTLP ingest, query API and audit tooling for LLM traces.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for module in (
        health,
        otlp,
        traces,
        guardrails,
        scores,
        metrics,
        audit,
        keys,
        projects,
        subjects,
        reports,
        review,
        dashboard,
        evaluators,
        sessions,
    ):
        app.include_router(module.router)
    return app
