"""Shared fixtures: one embedded ClickHouse per test process, a fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from tests.support import leftovers
from tests.support.server import RunningServer, serve_in_thread

# Every process the tests start inherits this marker, so the session can find, and fail on, any
# it left running even after it was re-parented (issue 22; tests/support/leftovers.py).
SESSION = uuid.uuid4().hex
os.environ[leftovers.MARKER] = SESSION
LEFTOVER_GRACE_SECONDS = 15.0  # for children of the last test that are still exiting


@pytest.hookimpl(trylast=True)  # after the session fixtures' teardown
def pytest_sessionfinish(session: pytest.Session) -> None:
    remaining = leftovers.wait_for_none(SESSION, LEFTOVER_GRACE_SECONDS)
    if not remaining:
        return
    lines = "\n".join(f"  {leftovers.describe(p)}" for p in remaining)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = f"{len(remaining)} process(es) started by the tests are still running:\n{lines}"
    if reporter is not None:
        reporter.write_sep("=", "processes left behind", red=True)
        reporter.write_line(message)
    leftovers.kill(remaining)  # the machine as it was found; the run fails all the same
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


# Property and API fuzz tests run the same examples every time in `make test` (a CI run must
# not fail by luck); explore new inputs with HYPOTHESIS_PROFILE=explore.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
hypothesis_settings.register_profile("explore", deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def chdb_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    """chDB allows one data path per process: every test shares it, isolated by database."""
    return f"chdb://{tmp_path_factory.mktemp('chdb')}"


@pytest.fixture
def store(chdb_dsn: str) -> Iterator[object]:
    from tests.support.stores import scratch_store

    with scratch_store(chdb_dsn) as db:
        yield db


@pytest.fixture
def settings(chdb_dsn: str, store: object) -> object:
    from tracerail.collector.settings import Settings

    # gRPC off: tests that need it pick a free port (4317 may be taken on a shared machine).
    return Settings(
        storage=chdb_dsn,
        database=store.database,  # type: ignore[attr-defined]
        grpc_port=0,
        ingest_workers=0,  # in-thread; tests/collector/test_prepare_pool.py covers the workers
    )


@pytest.fixture
def collector(settings: object, store: object) -> Iterator[RunningServer]:
    """The real collector app served by uvicorn on a free loopback port."""
    from tracerail.collector import create_app

    server = serve_in_thread(create_app(settings, store=store))  # type: ignore[arg-type]
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _model_server() -> Iterator[object]:
    from tracerail.testing import LocalModelServer

    with LocalModelServer() as server:
        yield server


@pytest.fixture
def model_server(_model_server: Any) -> Iterator[Any]:
    """tracerail's local wire-format model server (one per session), reset around each test."""
    _model_server.reset()
    yield _model_server
    _model_server.reset()
