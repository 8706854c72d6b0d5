"""The write-ahead log every accepted ingest request goes through (log first, insert in bulk).

Every request is logged here before it is answered (``collector/ingest.py``); the insert task
then writes logged segments to storage in bulk, and a segment left by a crash or a storage
outage is inserted at the next start or retry. Records are appended to numbered segment
files and ``fsync``-ed before the collector acknowledges them. Each record is framed as
``magic | header length | payload length | crc32 | header (JSON) | payload``; a torn
record at the end of a segment (a crash during ``write``) fails its length or CRC check and
ends the replay of that segment — it was never acknowledged, because acknowledgement waits
for the ``fsync``.

Replay closes the current segment, reads the closed ones oldest first and deletes a segment
only after every record in it was inserted. Inserting a record twice is harmless: records carry
their batch id, used as ClickHouse ``insert_deduplication_token``.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tracerail.collector.errors import Unavailable

logger = logging.getLogger("tracerail.collector")

MAGIC = b"TRW1"
_FRAME = struct.Struct(">4sIII")
SEGMENT_SUFFIX = ".wal"
MAX_SEGMENT_BYTES = 64 * 1024 * 1024


class WalFull(Unavailable):
    """The log is at its size limit."""


@dataclass(frozen=True, slots=True)
class WalRecord:
    """One ingest batch: its idempotency id, tenant, retention and OTLP protobuf bytes."""

    batch_id: str
    project: str
    retention_days: int
    spans: int
    payload: bytes

    def encode(self) -> bytes:
        header = json.dumps(
            {
                "batch_id": self.batch_id,
                "project": self.project,
                "retention_days": self.retention_days,
                "spans": self.spans,
            }
        ).encode()
        crc = zlib.crc32(self.payload, zlib.crc32(header))  # = crc32(header + payload)
        return _FRAME.pack(MAGIC, len(header), len(self.payload), crc) + header + self.payload


def fsync_directory(directory: Path) -> None:
    """Make the names in ``directory`` (a new or renamed file) durable."""
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def replace_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename, fsync the folder)."""
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)
    fsync_directory(path.parent)


def append_durably(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` and fsync it."""
    with path.open("ab") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _read_records(path: Path) -> Iterator[WalRecord]:
    with path.open("rb") as handle:
        while True:
            frame = handle.read(_FRAME.size)
            if len(frame) < _FRAME.size:
                if frame:
                    logger.warning("WAL %s: torn record at the end, ignored", path.name)
                return
            magic, header_len, payload_len, crc = _FRAME.unpack(frame)
            body = handle.read(header_len + payload_len)
            if magic != MAGIC or len(body) != header_len + payload_len or zlib.crc32(body) != crc:
                logger.warning("WAL %s: torn or corrupt record at the end, ignored", path.name)
                return
            header = json.loads(body[:header_len])
            yield WalRecord(
                batch_id=str(header["batch_id"]),
                project=str(header["project"]),
                retention_days=int(header["retention_days"]),
                spans=int(header["spans"]),
                payload=body[header_len:],
            )


class WriteAheadLog:
    """Segmented, fsynced, size-bounded log in one directory."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._current: Path | None = None
        self._handle: int | None = None
        segments = self._segments()
        self._next = int(segments[-1].stem) + 1 if segments else 1
        self._bytes = sum(p.stat().st_size for p in segments)

    def _segments(self) -> list[Path]:
        return sorted(
            p for p in self.directory.glob(f"*{SEGMENT_SUFFIX}") if p.stem.isdigit() and p.is_file()
        )

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def is_empty(self) -> bool:
        with self._lock:
            return self._bytes == 0

    def append(self, records: list[WalRecord]) -> Path:
        """Write ``records`` and fsync; returns their segment. Raises :class:`WalFull` (nothing
        written) at the limit."""
        data = b"".join(r.encode() for r in records)
        with self._lock:
            if self._bytes + len(data) > self.max_bytes:
                raise WalFull(
                    f"write-ahead log is full ({self._bytes} of {self.max_bytes} bytes used)"
                )
            if self._handle is None or (
                self._current is not None and self._current.stat().st_size > MAX_SEGMENT_BYTES
            ):
                self._open_segment()
            assert self._handle is not None
            written = 0
            while written < len(data):
                written += os.write(self._handle, data[written:])
            os.fsync(self._handle)
            self._bytes += len(data)
            assert self._current is not None
            return self._current

    def _open_segment(self) -> None:
        self._close_segment()
        self._current = self.directory / f"{self._next:012d}{SEGMENT_SUFFIX}"
        self._next += 1
        self._handle = os.open(self._current, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fsync_directory(self.directory)  # the new file's name is durable too

    def _close_segment(self) -> None:
        if self._handle is not None:
            os.close(self._handle)
        self._handle, self._current = None, None

    def closed_segments(self) -> list[Path]:
        """Close the segment being written and list every segment, oldest first."""
        with self._lock:
            self._close_segment()
            return self._segments()

    def read(self, segment: Path) -> Iterator[WalRecord]:
        return _read_records(segment)

    def remove(self, segment: Path) -> None:
        """Delete a fully replayed segment."""
        with self._lock:
            size = segment.stat().st_size
            segment.unlink()
            self._bytes = max(self._bytes - size, 0)

    def close(self) -> None:
        with self._lock:
            self._close_segment()
