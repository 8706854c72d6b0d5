"""Collector settings: argument > ``TRACERAIL_*`` environment variable > default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/tracerail`` (``~/.local/share/tracerail`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tracerail"


def default_storage() -> str:
    return f"chdb://{default_data_dir() / 'chdb'}"


def default_ingest_workers() -> int:
    """One ingest worker process per usable core, at most 4 (none on one core).

    Preparing requests is most of ingest's CPU; the collector process only logs and inserts in
    bulk (~30 ms of CPU per 1 000 spans against the workers' ~60), so on two cores two workers
    beat one (bench/RESULTS.md).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    return min(cores, 4) if cores > 1 else 0


class Settings(BaseSettings):
    """Everything the collector process is configured with."""

    model_config = SettingsConfigDict(env_prefix="TRACERAIL_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address to bind.")
    port: int = Field(4318, ge=0, le=65535, description="OTLP/HTTP and API port.")
    grpc_port: int | None = Field(
        4317, ge=0, le=65535, description="OTLP/gRPC port; 0 or unset disables gRPC."
    )
    storage: str = Field(
        default_factory=default_storage,
        description="chdb:///path for embedded ClickHouse, or http(s)://host:8123 for a server.",
    )
    database: str = Field("tracerail", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    cluster: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$",
        description="ClickHouse cluster name: schema ON CLUSTER, reads via Distributed tables.",
    )
    migrate_on_start: bool = Field(
        True, description="Apply pending migrations at startup (off when a migration job does)."
    )
    project: str = Field("default", min_length=1, description="Project for unauthenticated ingest.")
    retention_days: int = Field(30, ge=1, le=3650, description="Days spans are kept.")
    max_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest request body, before and after gunzip."
    )
    max_batch_rows: int = Field(
        50_000, ge=1, description="Most span rows in one insert; more waiting starts an insert."
    )
    flush_interval_seconds: float = Field(
        1.0, gt=0, description="Longest a logged span waits for its insert under load."
    )
    max_page_size: int = Field(1_000, ge=1, description="Largest page a query may ask for.")

    # --- keys and isolation (docs/reliability.md) ----------------------------------------------
    auth: Literal["auto", "required", "off"] = Field(
        "auto",
        description="auto: keys required once any key exists or when bound to a non-loopback "
        "address; required: always; off: never (loopback only unless allow_insecure_bind).",
    )
    allow_insecure_bind: bool = Field(
        False, description="Allow serving without auth on a non-loopback address (not advised)."
    )
    key_cache_seconds: float = Field(
        1.0, ge=0, description="How long a verified key is trusted before it is read again."
    )

    # --- durable ingest and backpressure -------------------------------------------------------
    wal_dir: Path | None = Field(
        None,
        description="Write-ahead log directory (default: next to the chDB data path, or under "
        "the data dir for a server).",
    )
    wal_max_mb: int = Field(1024, ge=1, description="Largest write-ahead log before 503.")
    max_queue_spans: int = Field(
        100_000,
        ge=1,
        description="Spans held in memory (queued, or logged and not yet inserted) before "
        "ingest answers 429.",
    )
    max_inflight_requests: int = Field(
        32, ge=1, description="Ingest bodies read and decoded at once before ingest answers 429."
    )
    ingest_workers: int = Field(
        default_factory=default_ingest_workers,
        ge=0,
        le=64,
        description="Processes that decode and flatten ingest requests and WAL records (0: a "
        "thread of the collector process). Default: one per core, at most 4 (0 on one core).",
    )
    retry_after_seconds: int = Field(1, ge=1, description="Retry-After on 429/503 answers.")
    replay_interval_seconds: float = Field(
        1.0, gt=0, description="How often a non-empty WAL or down storage is retried."
    )

    # --- online evaluator (collector/online_eval.py, docs/evaluators.md) ------------------------
    online_eval_enabled: bool = Field(
        False, description="Score stored generations that have sources, in the background."
    )
    online_eval_evaluator: str = Field(
        "heuristic", min_length=1, description="Evaluator the online evaluator runs, by name."
    )
    online_eval_rate_per_second: float = Field(
        20.0, gt=0, description="Most generations the online evaluator scores per second."
    )
    online_eval_batch_size: int = Field(
        32, ge=1, le=1_000, description="Generations the online evaluator reads per pass."
    )
    online_eval_interval_seconds: float = Field(
        1.0, gt=0, description="Pause of the online evaluator when nothing is pending."
    )
    online_eval_lookback_hours: int = Field(
        168, ge=1, le=24 * 3650, description="How far back the online evaluator looks."
    )
    online_eval_settle_seconds: float = Field(
        2.0, ge=0, description="Age a span must reach before the online evaluator reads it."
    )

    # --- signed ledger checkpoints (collector/checkpoints.py, docs/provenance-and-audit.md) ----
    checkpoint_key_file: Path | None = Field(
        None, description="Ed25519 private key (PEM, PKCS#8) that signs ledger checkpoints."
    )
    checkpoint_key: SecretStr | None = Field(
        None,
        description="The signing key itself (PEM, or base64 of the 32-byte seed); for an "
        "environment variable, TRACERAIL_CHECKPOINT_KEY. The key file wins when both are set.",
    )
    checkpoint_interval_seconds: float = Field(
        3600.0, ge=0, description="How often each project's chain head is signed (0: never)."
    )
    checkpoint_dir: Path | None = Field(
        None,
        description="Append-only directory every checkpoint is also written to (default: "
        "beside the chDB data path, or under the data dir for a server).",
    )
    checkpoint_public_keys: Path | None = Field(
        None,
        description="Key ring that `audit verify` trusts (default: keys.json in checkpoint_dir).",
    )

    tsa_url: str | None = Field(
        None,
        description="RFC 3161 time-stamping authority every checkpoint is also sent to "
        "(http(s) URL); its token is stored beside the checkpoint.",
    )

    def checkpoint_path(self) -> Path:
        """The checkpoint sink directory of this collector's database."""
        return self._beside_data(self.checkpoint_dir, "checkpoints")

    def wal_path(self) -> Path:
        """The write-ahead log directory of this collector's database."""
        return self._beside_data(self.wal_dir, "wal")

    def _beside_data(self, configured: Path | None, name: str) -> Path:
        """``configured/<database>``, else ``<chDB path>-<name>/<database>`` beside the data,
        else (a server) ``<data dir>/<name>/<database>``."""
        if configured is not None:
            return configured / self.database
        if self.storage.startswith("chdb://"):
            data = self.storage.removeprefix("chdb://").rstrip("/") or str(default_data_dir())
            return Path(f"{data}-{name}") / self.database
        return default_data_dir() / name / self.database
