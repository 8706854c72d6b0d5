"""Authentication, transport-neutral: an ``Authorization`` value + a scope → the project.

Every transport calls :func:`authenticate` (OTLP/HTTP and the query API through
``ProjectDep`` in ``collector/api/deps.py``; OTLP/gRPC with the ``authorization`` metadata
value). The project always comes from the key, never from the request.

Auth mode (``Settings.auth``): ``required``; ``off`` (every request acts for
``Settings.project``; refused on a non-loopback address unless ``allow_insecure_bind``);
``auto`` (the default): off on loopback until the first key is created, required after that
and whenever the collector is bound to a non-loopback address.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Iterable

from tracerail.collector.errors import CollectorError
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.keys import InvalidKey, KeyRecord, Scope, get_key, split_key
from tracerail.collector.store.keys import any_key_exists as _any_key_exists
from tracerail.collector.store.keys import verify as _verify
from tracerail.collector.store.projects import get_project

logger = logging.getLogger("tracerail.collector")


class AuthError(CollectorError):
    """Authentication failed; ``status`` is the HTTP status (401, 403 or 503)."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        self.status = status
        self.error = error
        self.detail = detail
        super().__init__(detail)


class InsecureBind(CollectorError, RuntimeError):
    """Refusing to serve without auth on a non-loopback address."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IPv4/IPv6 addresses."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings) -> None:
    """Raise :class:`InsecureBind` for auth ``off`` on a non-loopback host without override."""
    if settings.auth == "off" and not is_loopback(settings.host):
        if not settings.allow_insecure_bind:
            raise InsecureBind(
                f"refusing to serve on {settings.host} with auth off: anyone who can reach it "
                "could write and read every trace. Use auth 'auto' or 'required' with API keys "
                "(tracerail keys create), or set TRACERAIL_ALLOW_INSECURE_BIND=true to override."
            )
        logger.warning("auth is OFF on non-loopback %s (allow_insecure_bind)", settings.host)


def allows(granted: str, wanted: Scope) -> bool:
    """``admin`` keys may do everything; other keys only their own scope."""
    return granted == "admin" or granted == wanted


class KeyRing:
    """Key lookups with a short cache, and the effective auth mode."""

    def __init__(self, store: ClickHouseStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}
        self._retention: dict[str, tuple[float, int]] = {}
        self._keys_exist = False
        self._keys_checked = 0.0
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Forget cached keys (after a create or revoke in this process)."""
        with self._lock:
            self._cache.clear()
            self._retention.clear()
            self._keys_checked = 0.0

    def retention_days(self, project: str) -> int:
        """The project's retention, else ``Settings.retention_days`` (also when storage is down)."""
        now = time.monotonic()
        hit = self._retention.get(project)
        if hit is not None and now - hit[0] < max(self.settings.key_cache_seconds, 1.0):
            return hit[1]
        try:
            found = get_project(self.store, project)
        except Exception:
            return hit[1] if hit else self.settings.retention_days
        days = found.retention_days if found else self.settings.retention_days
        if len(self._retention) > 10_000:
            self._retention.clear()
        self._retention[project] = (now, days)
        return days

    def required(self) -> bool:
        """Whether requests must carry a key now."""
        mode = self.settings.auth
        if mode != "auto":
            return mode == "required"
        if not is_loopback(self.settings.host) or self._keys_exist:
            return True
        now = time.monotonic()
        if now - self._keys_checked >= self.settings.key_cache_seconds:
            try:
                self._keys_exist = _any_key_exists(self.store)
            except Exception as exc:
                raise AuthError(503, "storage_unavailable", f"cannot read keys: {exc}") from None
            self._keys_checked = now
        return self._keys_exist

    def lookup(self, key_id: str) -> KeyRecord | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key_id)
        if hit is not None and now - hit[0] < self.settings.key_cache_seconds:
            return hit[1]
        try:
            record = get_key(self.store, key_id)
        except Exception as exc:
            raise AuthError(503, "storage_unavailable", f"cannot read keys: {exc}") from None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = (now, record)
        return record


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value (None when absent)."""
    if not authorization:
        return None
    kind, _, token = authorization.strip().partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise AuthError(401, "unauthorized", "Authorization must be 'Bearer <api key>'")
    return token.strip()


def authorization_from_metadata(
    metadata: Iterable[tuple[str, str | bytes]] | None,
) -> str | None:
    """The ``authorization`` value of gRPC invocation metadata (keys are lower-case there)."""
    for key, value in metadata or ():
        if key.lower() == "authorization":
            return value.decode(errors="replace") if isinstance(value, bytes) else value
    return None


def authenticate(authorization: str | None, scope: Scope, *, keyring: KeyRing) -> str:
    """The project a request acts for, or :class:`AuthError`.

    ``authorization`` is the raw ``Authorization`` header (or gRPC ``authorization`` metadata)
    value. A key that is presented is always checked; a request without one acts for
    ``Settings.project`` while auth is off.
    """
    token = bearer_token(authorization)
    if token is None:
        if not keyring.required():
            return keyring.settings.project
        raise AuthError(401, "unauthorized", "an API key is required (Authorization: Bearer …)")
    try:
        key_id, secret = split_key(token)
    except InvalidKey:
        raise AuthError(401, "unauthorized", "invalid API key") from None
    record = keyring.lookup(key_id)
    if record is None or not _verify(record, secret):
        raise AuthError(401, "unauthorized", "invalid API key")
    if record.revoked:
        raise AuthError(401, "unauthorized", "this API key was revoked")
    if not allows(record.scope, scope):
        raise AuthError(403, "forbidden", f"this key has scope {record.scope!r}; {scope!r} needed")
    return record.project
