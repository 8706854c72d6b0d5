"""tracerail collector: OTLP ingest into ClickHouse (embedded chDB or a server) and a query API.

Layers, dependencies pointing down: ``otlp`` (pure decoding) → ``ingest`` (batch, durable
write) → ``store`` (DDL, migrations, parameterized queries) ← ``api`` (FastAPI routers).
"""

from __future__ import annotations

from tracerail.collector.api.app import create_app
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore, StoreError

__all__ = ["ClickHouseStore", "Settings", "StoreError", "create_app"]
