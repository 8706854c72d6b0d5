"""The ids of recently stored ingest requests, in memory and in a file next to the WAL.

Group commit inserts several requests under one dedup token, so ClickHouse's token window no
longer recognises one request sent again. These ids do: the writer adds the ids of every
request it stored or logged, ``submit`` acknowledges a known id without writing it again, and
the file (appended and fsynced per write, one fsync per group commit) brings them back after
a restart, also after a machine crash. Only the newest ``capacity`` ids are kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

from tracerail.collector.wal import append_durably, replace_durably


class RecentIds:
    """A bounded, ordered set of request ids persisted as one line per id."""

    def __init__(self, path: Path, capacity: int) -> None:
        self.path = path
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._lines = 0
        if path.exists():
            lines = path.read_text(encoding="ascii", errors="replace").splitlines()
            whole = [line for line in lines if len(line) == 64]  # a torn last line is skipped
            self._ids.update(dict.fromkeys(whole[-capacity:]))
            self._lines = len(lines)
            if len(whole) != len(lines):
                self._rewrite()  # so the next append does not continue the torn line

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: Iterable[str]) -> None:
        """Remember ``ids`` (newest last) in memory and in the file."""
        new = [i for i in ids if i not in self._ids]
        if not new:
            return
        with self._lock:
            for request_id in new:
                self._ids[request_id] = None
            while len(self._ids) > self.capacity:
                self._ids.popitem(last=False)
            if self._lines + len(new) > 2 * self.capacity:
                self._rewrite()  # only the kept ids: the file stays within 2 x capacity lines
                return
            append_durably(self.path, "".join(f"{i}\n" for i in new).encode("ascii"))
            self._lines += len(new)

    def _rewrite(self) -> None:
        replace_durably(self.path, "".join(f"{i}\n" for i in self._ids).encode("ascii"))
        self._lines = len(self._ids)
