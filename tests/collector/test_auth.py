"""Keys and tenant isolation over the real app under uvicorn."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.trace import Tracer
from typer.testing import CliRunner

from tests.support.keys import Keys, bearer, make_keys, revoked_key
from tests.support.otlp import protobuf_body, record_spans
from tests.support.server import RunningServer, serve_in_thread
from tracerail import semconv
from tracerail.collector import create_app
from tracerail.collector.auth import AuthError, InsecureBind, KeyRing, authenticate, check_bind
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.keys import split_key

OPEN_PATHS = {"/healthz", "/readyz"}
SAMPLE_PATH_VALUES = {"trace_id": "0" * 31 + "1", "key_id": "0" * 16, "user_id": "someone"}
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _routes() -> list[tuple[str, str]]:
    """Every operation in the app's OpenAPI document (so routes added later are covered)."""
    schema = create_app(Settings(storage="chdb:///unused")).openapi()
    found = []
    for template, operations in schema["paths"].items():
        if template in OPEN_PATHS:
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PATH_VALUES.get(m.group(1), "x"), template)
        found.extend((method.upper(), path) for method in sorted(operations))
    return found


ROUTES = _routes()


def _send(base: str, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    if path == "/v1/traces":
        return httpx.post(base + path, content=_body("probe"), headers={**PROTOBUF, **headers})
    body = {"retention_days": 5} if method in ("POST", "PUT", "PATCH") else None
    return httpx.request(method, base + path, json=body, headers=headers, timeout=30)


def _body(name: str, **attributes: str) -> bytes:
    def emit(tracer: Tracer) -> None:
        with tracer.start_as_current_span(name, attributes=attributes):
            pass

    return protobuf_body(record_spans(emit))


@pytest.fixture
def two_projects(store: ClickHouseStore) -> tuple[Keys, Keys]:
    return make_keys(store, "alpha"), make_keys(store, "beta")


@pytest.fixture
def secured(
    settings: Settings, store: ClickHouseStore, two_projects: tuple[Keys, Keys]
) -> Iterator[RunningServer]:
    """The collector in the default auth mode, after keys exist (so auth is on)."""
    server = serve_in_thread(create_app(settings, store=store))
    yield server
    server.stop()


def _ingest(base: str, keys: Keys, name: str, **attributes: str) -> str:
    response = httpx.post(
        f"{base}/v1/traces",
        content=_body(name, **attributes),
        headers={**PROTOBUF, **bearer(keys.ingest)},
    )
    assert response.status_code == 200, response.text
    spans = httpx.get(
        f"{base}/api/v1/spans", params={"name": name}, headers=bearer(keys.read)
    ).json()
    return str(spans["spans"][0]["trace_id"])


def test_route_list_covers_ingest_query_and_admin_routes() -> None:
    assert ("POST", "/v1/traces") in ROUTES
    assert ("GET", "/api/v1/spans") in ROUTES
    assert ("DELETE", "/api/v1/subjects/someone") in ROUTES


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_missing_wrong_and_revoked_keys(
    secured: RunningServer, store: ClickHouseStore, method: str, path: str
) -> None:
    revoked = revoked_key(store, "alpha")
    attempts = {
        "none": {},
        "not bearer": {"Authorization": "Basic dXNlcjpwYXNz"},
        "garbage": bearer("not-a-key"),
        "wrong secret": bearer(f"trk_{split_key(revoked)[0]}_" + "A" * 43),
        "revoked": bearer(revoked),
    }
    for what, headers in attempts.items():
        response = _send(secured.base_url, method, path, headers)
        assert response.status_code == 401, (what, response.text)
        assert response.json()["error"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


def test_health_stays_open(secured: RunningServer) -> None:
    assert httpx.get(f"{secured.base_url}/healthz").status_code == 200


def test_scopes(secured: RunningServer, two_projects: tuple[Keys, Keys]) -> None:
    alpha, _ = two_projects
    base = secured.base_url
    read_on_ingest = httpx.post(
        f"{base}/v1/traces", content=_body("s"), headers={**PROTOBUF, **bearer(alpha.read)}
    )
    assert read_on_ingest.status_code == 403
    assert read_on_ingest.json()["error"] == "forbidden"
    ingest_on_read = httpx.get(f"{base}/api/v1/spans", headers=bearer(alpha.ingest))
    assert ingest_on_read.status_code == 403
    read_on_admin = httpx.delete(f"{base}/api/v1/subjects/u1", headers=bearer(alpha.read))
    assert read_on_admin.status_code == 403
    score = {"trace_id": "ab" * 16, "span_id": "cd" * 8, "name": "helpful", "value": 1}
    read_writes_score = httpx.post(f"{base}/api/v1/scores", json=score, headers=bearer(alpha.read))
    assert read_writes_score.status_code == 403
    ingest_writes_score = httpx.post(
        f"{base}/api/v1/scores", json=score, headers=bearer(alpha.ingest)
    )
    assert ingest_writes_score.status_code == 404  # authorised; that span is not stored
    assert ingest_writes_score.json()["error"] == "unknown_span"
    admin_everywhere = [
        httpx.post(
            f"{base}/v1/traces", content=_body("s"), headers={**PROTOBUF, **bearer(alpha.admin)}
        ),
        httpx.get(f"{base}/api/v1/spans", headers=bearer(alpha.admin)),
    ]
    assert [r.status_code for r in admin_everywhere] == [200, 200]


def test_project_comes_from_the_key_only(
    secured: RunningServer, two_projects: tuple[Keys, Keys]
) -> None:
    alpha, beta = two_projects
    base = secured.base_url
    # A span claiming to belong to beta, sent with alpha's key, lands in alpha.
    trace_id = _ingest(base, alpha, "alpha-span", **{semconv.TRACERAIL_PROJECT: "beta"})
    assert (
        httpx.get(f"{base}/api/v1/traces/{trace_id}", headers=bearer(alpha.read)).status_code == 200
    )
    other = httpx.get(f"{base}/api/v1/traces/{trace_id}", headers=bearer(beta.read))
    assert other.status_code == 404
    assert other.json()["error"] == "not_found"
    for params in ({}, {"trace_id": trace_id}, {"name": "alpha-span"}, {"project": "alpha"}):
        listed = httpx.get(f"{base}/api/v1/spans", params=params, headers=bearer(beta.admin))
        assert listed.status_code == 200
        assert listed.json()["count"] == 0, params
    project = httpx.get(f"{base}/api/v1/project", headers=bearer(beta.read)).json()
    assert project["name"] == "beta"


INJECTIONS = [
    "' OR 1=1 --",
    "x' UNION SELECT * FROM system.tables --",
    "alpha'; DROP TABLE spans; --",
    "\\' OR ''='",
    "{project:String}",
    "`spans`",
    "1) OR (1=1",
    "%27%20OR%201%3D1",
]


def test_sql_injection_in_every_parameter_has_no_effect(
    secured: RunningServer, store: ClickHouseStore, two_projects: tuple[Keys, Keys]
) -> None:
    alpha, beta = two_projects
    base = secured.base_url
    _ingest(base, alpha, "victim", **{semconv.USER_ID: "victim-user"})
    for evil in INJECTIONS:
        for param in ("service", "model", "status", "name", "kind", "trace_id", "cursor", "from"):
            response = httpx.get(
                f"{base}/api/v1/spans", params={param: evil}, headers=bearer(beta.read)
            )
            assert response.status_code in (200, 400), (param, evil, response.text)
            assert response.headers["content-type"].startswith("application/json")
            if response.status_code == 200:
                assert response.json()["count"] == 0, (param, evil)
        trace = httpx.get(f"{base}/api/v1/traces/{evil}", headers=bearer(beta.read))
        assert trace.status_code in (400, 404)
        erased = httpx.delete(f"{base}/api/v1/subjects/{evil}", headers=bearer(alpha.admin))
        assert erased.status_code in (200, 404), erased.text
        if erased.status_code == 200:
            assert erased.json()["rows_deleted"]["spans"] == 0
        key = httpx.delete(f"{base}/api/v1/keys/{evil}", headers=bearer(alpha.admin))
        assert key.status_code == 404
    survivors = httpx.get(
        f"{base}/api/v1/spans", params={"name": "victim"}, headers=bearer(alpha.read)
    )
    assert survivors.json()["count"] == 1
    assert store.query(f"SELECT count() AS n FROM {store.table('api_keys')}")[0]["n"] == 6


def test_keys_api_create_list_revoke(
    secured: RunningServer, two_projects: tuple[Keys, Keys]
) -> None:
    alpha, beta = two_projects
    base = secured.base_url
    created = httpx.post(
        f"{base}/api/v1/keys",
        json={"scope": "read", "note": "dashboard"},
        headers=bearer(alpha.admin),
    ).json()
    assert created["key"].startswith("trk_") and created["project"] == "alpha"
    assert httpx.get(f"{base}/api/v1/spans", headers=bearer(created["key"])).status_code == 200
    listed = httpx.get(f"{base}/api/v1/keys", headers=bearer(alpha.admin)).json()["keys"]
    assert {k["project"] for k in listed} == {"alpha"}
    assert all("secret" not in str(k) and "key" not in k for k in listed)
    # Another project's admin cannot revoke it.
    foreign = httpx.delete(f"{base}/api/v1/keys/{created['key_id']}", headers=bearer(beta.admin))
    assert foreign.status_code == 404
    revoked = httpx.delete(f"{base}/api/v1/keys/{created['key_id']}", headers=bearer(alpha.admin))
    assert revoked.status_code == 200
    assert httpx.get(f"{base}/api/v1/spans", headers=bearer(created["key"])).status_code == 401


def test_keys_are_stored_only_as_salted_hashes(
    store: ClickHouseStore, two_projects: tuple[Keys, Keys]
) -> None:
    alpha, _ = two_projects
    rows = store.query(f"SELECT * FROM {store.table('api_keys')}")
    dump = repr(rows)
    for key in (alpha.ingest, alpha.read, alpha.admin):
        assert split_key(key)[1] not in dump
    assert len({r["salt"] for r in rows}) == len(rows)


def test_cli_keys_create_list_revoke(store: ClickHouseStore, chdb_dsn: str) -> None:
    from tracerail.collector.cli import app

    env = {"TRACERAIL_STORAGE": chdb_dsn, "TRACERAIL_DATABASE": store.database}
    runner = CliRunner()
    made = runner.invoke(app, ["keys", "create", "--project", "gamma", "--scope", "read"], env=env)
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[0]
    keyring = KeyRing(
        store, Settings(storage=chdb_dsn, database=store.database, key_cache_seconds=0)
    )
    assert authenticate(f"Bearer {key}", "read", keyring=keyring) == "gamma"
    listing = runner.invoke(app, ["keys", "list", "--project", "gamma"], env=env)
    key_id = key.split("_")[1]
    assert key_id in listing.stdout and split_key(key)[1] not in listing.stdout
    assert runner.invoke(app, ["keys", "revoke", key_id], env=env).exit_code == 0
    with pytest.raises(AuthError) as refused:
        authenticate(f"Bearer {key}", "read", keyring=keyring)
    assert refused.value.status == 401
    bad_scope = runner.invoke(app, ["keys", "create", "--project", "g", "--scope", "root"], env=env)
    assert bad_scope.exit_code != 0


def test_auth_off_only_on_loopback(store: ClickHouseStore, chdb_dsn: str) -> None:
    base = {"storage": chdb_dsn, "database": store.database}
    check_bind(Settings(**base, auth="off", host="127.0.0.1"))
    check_bind(Settings(**base, auth="off", host="::1"))
    with pytest.raises(InsecureBind):
        check_bind(Settings(**base, auth="off", host="0.0.0.0"))
    check_bind(Settings(**base, auth="off", host="0.0.0.0", allow_insecure_bind=True))
    # auto on a non-loopback address requires keys even before any exists.
    keyring = KeyRing(store, Settings(**base, host="0.0.0.0"))
    with pytest.raises(AuthError):
        authenticate(None, "read", keyring=keyring)
    open_keyring = KeyRing(store, Settings(**base))
    assert authenticate(None, "read", keyring=open_keyring) == "default"
    # A presented key is checked even while auth is off.
    with pytest.raises(AuthError):
        authenticate("Bearer trk_0123456789abcdef_nope", "read", keyring=open_keyring)


def test_cli_serve_refuses_insecure_bind() -> None:
    from tracerail.collector.cli import app

    result = CliRunner().invoke(
        app, ["collector", "serve", "--host", "0.0.0.0", "--auth", "off", "--port", "1"]
    )
    assert result.exit_code == 2
    assert "refusing to serve" in result.output


def test_grpc_metadata_authorization_is_found() -> None:
    from tracerail.collector.auth import authorization_from_metadata

    metadata = [("user-agent", "grpc"), ("authorization", b"Bearer trk_x")]
    assert authorization_from_metadata(metadata) == "Bearer trk_x"
    assert authorization_from_metadata([("x", "y")]) is None
    assert authorization_from_metadata(None) is None
