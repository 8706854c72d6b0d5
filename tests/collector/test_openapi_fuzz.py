"""schemathesis against the collector's own OpenAPI document (bounded examples per route)."""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.support.server import RunningServer
from tracerail.collector import create_app
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore

# The document is static: build it from the app without storage, call the served app.
schema = schemathesis.openapi.from_dict(create_app(Settings(storage="chdb:///unused")).openapi())


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_route_fails_on_generated_input(
    case: schemathesis.Case, collector: RunningServer, store: ClickHouseStore
) -> None:
    response = case.call(base_url=collector.base_url, timeout=30)
    case.validate_response(response, checks=[not_a_server_error])
    if 400 <= response.status_code < 500:
        body = response.json()
        assert set(body) >= {"error", "detail"}, body
    assert httpx.get(f"{collector.base_url}/healthz").status_code == 200
