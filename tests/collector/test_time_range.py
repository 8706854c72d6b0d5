"""Every time-bounded read route rejects dates ClickHouse cannot represent with a 400.

Found by schemathesis: ``to=1544-06-26T16:01:01Z`` on the compliance report overflowed the
bound ``DateTime64`` parameter and answered 500.
"""

from __future__ import annotations

import httpx
import pytest

from tests.support.server import RunningServer

ROUTES = [
    "/api/v1/reports/compliance",
    "/api/v1/audit/events",
    "/api/v1/metrics/hallucination-rate",
    "/api/v1/metrics/models",
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"to": "1544-06-26T16:01:01Z"}, "to"),
        ({"from": "1544-05-27T16:00:00Z", "to": "1544-06-26T16:01:01Z"}, "from"),
        ({"from": "2200-01-01T00:00:00Z", "to": "2200-02-01T00:00:00Z"}, "from"),
    ],
)
def test_out_of_range_dates_get_400_naming_the_parameter(
    collector: RunningServer, route: str, params: dict[str, str], name: str
) -> None:
    response = httpx.get(f"{collector.base_url}{route}", params=params, timeout=30)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_parameter"
    assert body["detail"].startswith(f"{name}:")
