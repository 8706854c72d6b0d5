"""OTLP/gRPC ingest (``TraceService/Export``, port 4317 by default).

Runs on the collector's event loop (``grpc.aio``) and hands every request to the same
:func:`~tracerail.collector.accept.accept` as OTLP/HTTP, so admission (``max_queue_spans``,
``max_inflight_requests``), batching and durability are the same: a call succeeds only once
its spans are durable. Errors map to gRPC status codes the
OTel exporters understand: invalid data → ``INVALID_ARGUMENT`` (not retried), storage down →
``UNAVAILABLE`` (retried with back-off), too large → ``RESOURCE_EXHAUSTED`` (from gRPC itself).

The service is registered without a request deserializer: ``Export`` gets the message bytes
and the protobuf decode happens with the rest of the preparation, in the ingest worker
processes, not on the collector's event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tracerail.collector.accept import accept
from tracerail.collector.auth import (
    AuthError,
    KeyRing,
    authenticate,
    authorization_from_metadata,
)
from tracerail.collector.ingest import IngestBatcher, IngestBusy, IngestUnavailable
from tracerail.collector.otlp.decode import PROTOBUF
from tracerail.collector.otlp.errors import DecodeError
from tracerail.collector.settings import Settings

logger = logging.getLogger("tracerail.collector")

Metadata = Sequence[tuple[str, str | bytes]]


def grpc_project(metadata: Metadata | None, keyring: KeyRing) -> str:
    """The project an OTLP/gRPC call acts for, from its ``authorization`` metadata.

    Same rules as OTLP/HTTP (:func:`~tracerail.collector.auth.authenticate`, ``ingest`` scope);
    raises :class:`~tracerail.collector.auth.AuthError`.
    """
    return authenticate(authorization_from_metadata(metadata), "ingest", keyring=keyring)


_AUTH_CODES = {
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    503: grpc.StatusCode.UNAVAILABLE,
}


SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"


class TraceService:
    """``opentelemetry.proto.collector.trace.v1.TraceService`` over :func:`accept`."""

    def __init__(self, batcher: IngestBatcher, settings: Settings, keyring: KeyRing) -> None:
        self.batcher = batcher
        self.settings = settings
        self.keyring = keyring

    async def Export(  # noqa: N802 - the service's method name
        self, request: bytes, context: grpc.aio.ServicerContext
    ) -> ExportTraceServiceResponse:
        try:
            project = await asyncio.to_thread(
                grpc_project, context.invocation_metadata(), self.keyring
            )

            async def body() -> bytes:
                return request

            await accept(
                self.batcher,
                body,
                content_type=PROTOBUF,
                project=project,
                retention_days=self.keyring.retention_days,
            )
        except AuthError as exc:
            await context.abort(_AUTH_CODES[exc.status], f"{exc.error}: {exc.detail}")
        except IngestBusy as exc:  # retried by the exporters, like 429 over HTTP
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"too_busy: {exc}")
        except DecodeError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{exc.error}: {exc.detail}")
        except IngestUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"storage_unavailable: {exc}")
        return ExportTraceServiceResponse()


class GrpcIngest:
    """The gRPC server's lifetime, driven by the app's lifespan."""

    def __init__(self, batcher: IngestBatcher, settings: Settings, keyring: KeyRing) -> None:
        self.settings = settings
        self.server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", settings.max_body_bytes),
                ("grpc.so_reuseport", 0),
            ]
        )
        service = TraceService(batcher, settings, keyring)
        export = grpc.unary_unary_rpc_method_handler(
            service.Export,
            request_deserializer=None,  # bytes: decoded in the ingest workers
            response_serializer=ExportTraceServiceResponse.SerializeToString,
        )
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {"Export": export}),)
        )
        self.port = 0

    async def start(self) -> int:
        """Bind ``settings.host:settings.grpc_port`` and serve; returns the bound port."""
        address = f"{self.settings.host}:{self.settings.grpc_port}"
        self.port = self.server.add_insecure_port(address)
        await self.server.start()
        logger.info("OTLP/gRPC listening on %s", address)
        return self.port

    async def stop(self, grace: float = 10.0) -> None:
        """Refuse new calls, let calls in flight finish (up to ``grace`` seconds)."""
        await self.server.stop(grace)
