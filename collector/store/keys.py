"""API keys: created once, stored only as a salted hash, listed and revoked by their id.

A key reads ``trk_<key_id>_<secret>``. ``key_id`` (16 hex characters) is public and names the
key in listings; the 256-bit secret is shown once at creation and stored as
``sha256(salt || secret)``. A slow password hash is not needed for secrets this long (nobody
can guess 2^256), and a fast one keeps verification cheap on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal, get_args

from tracerail.collector.errors import InvalidInput
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.projects import check_name

Scope = Literal["ingest", "read", "admin"]
SCOPES: tuple[str, ...] = get_args(Scope)
KEY_PREFIX = "trk_"


class InvalidKey(InvalidInput):
    """A key string that is not shaped like a tracerail key."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A stored key, without its secret."""

    key_id: str
    project: str
    scope: Scope
    salt: str
    secret_sha256: str
    note: str
    created_at: datetime | None
    revoked: bool

    def public(self) -> dict[str, object]:
        """What listings show: never the hash or salt."""
        return {
            "key_id": self.key_id,
            "project": self.project,
            "scope": self.scope,
            "note": self.note,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "revoked": self.revoked,
        }


def hash_secret(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def split_key(key: str) -> tuple[str, str]:
    """``trk_<id>_<secret>`` → ``(id, secret)``; raises :class:`InvalidKey`."""
    if not key.startswith(KEY_PREFIX):
        raise InvalidKey("not a tracerail key")
    key_id, sep, secret = key[len(KEY_PREFIX) :].partition("_")
    if not sep or len(key_id) != 16 or not secret or len(secret) > 128:
        raise InvalidKey("not a tracerail key")
    try:
        int(key_id, 16)
    except ValueError:
        raise InvalidKey("not a tracerail key") from None
    return key_id, secret


def verify(record: KeyRecord, secret: str) -> bool:
    """Constant-time check of ``secret`` against the stored hash."""
    return hmac.compare_digest(hash_secret(record.salt, secret), record.secret_sha256)


def create_key(
    store: ClickHouseStore, project: str, scope: Scope, note: str = ""
) -> tuple[str, KeyRecord]:
    """A new key for ``project``; returns the full key (shown once) and its record."""
    check_name(project)
    if scope not in SCOPES:
        raise InvalidKey(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    record = KeyRecord(key_id, project, scope, salt, hash_secret(salt, secret), note, None, False)
    store.insert_row(
        "api_keys",
        {
            "key_id": key_id,
            "project": project,
            "scope": scope,
            "salt": salt,
            "secret_sha256": record.secret_sha256,
            "note": note,
        },
    )
    return f"{KEY_PREFIX}{key_id}_{secret}", record


_FIELDS = "key_id, project, scope, salt, secret_sha256, note, created_at, revoked"


def _record(row: dict[str, object]) -> KeyRecord:
    return KeyRecord(
        key_id=str(row["key_id"]),
        project=str(row["project"]),
        scope=str(row["scope"]),  # type: ignore[arg-type]
        salt=str(row["salt"]),
        secret_sha256=str(row["secret_sha256"]),
        note=str(row["note"]),
        created_at=row["created_at"],  # type: ignore[arg-type]
        revoked=bool(row["revoked"]),
    )


def get_key(store: ClickHouseStore, key_id: str) -> KeyRecord | None:
    rows = store.query(
        f"SELECT {_FIELDS} FROM {store.table('api_keys')} FINAL WHERE key_id = {{key_id:String}}",
        {"key_id": key_id},
    )
    return _record(rows[0]) if rows else None


def list_keys(store: ClickHouseStore, project: str | None = None) -> list[KeyRecord]:
    where, params = "", {}
    if project is not None:
        where, params = "WHERE project = {project:String}", {"project": project}
    rows = store.query(
        f"SELECT {_FIELDS} FROM {store.table('api_keys')} FINAL {where} "
        "ORDER BY project, created_at, key_id",
        params,
    )
    return [_record(r) for r in rows]


def any_key_exists(store: ClickHouseStore) -> bool:
    """True once any key was ever created (revoked ones count: auth stays on)."""
    return bool(store.scalar(f"SELECT count() FROM {store.table('api_keys')}"))


def revoke_key(store: ClickHouseStore, key_id: str, project: str | None = None) -> bool:
    """Revoke a key (of ``project`` when given); False when there is no such key."""
    record = get_key(store, key_id)
    if record is None or (project is not None and record.project != project):
        return False
    store.insert_row("api_keys", {**asdict(record), "revoked": 1})
    return True
