"""Arrow inserts into embedded chDB through chDB's public API, checked once at start-up.

chDB reads an Arrow table in place through its ``Python()`` table function (about twice as
fast as clickhouse-connect's ``insert_arrow``, and it releases the GIL while it works). This
adapter opens its own ``chdb.connect(path)`` on the store's data path — chDB shares one engine
per process, so that connection sees the same databases as clickhouse-connect's — and checks
the capability with a probe before the first insert. :func:`open_fast_path` returns ``None``
(with the reason logged) when the probe fails; the store then uses clickhouse-connect.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

logger = logging.getLogger("tracerail.collector")


class ChdbArrowInserter:
    """``INSERT … SELECT … FROM Python(arrow_batch)`` on a chDB connection of our own."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self.inserts = 0

    def insert(
        self, qualified_table: str, data: pa.Table, settings: Mapping[str, Any] | None
    ) -> None:
        clause = ""
        if settings:
            # Setting names are fixed identifiers from this package; values are ints or hex ids.
            values = []
            for name, value in settings.items():
                text = str(value)
                if not (name.isidentifier() and text.replace("_", "").isalnum()):
                    raise ValueError(f"unsupported insert setting {name}={value!r}")
                values.append(f"{name} = {text}" if text.isdigit() else f"{name} = '{text}'")
            clause = " SETTINGS " + ", ".join(values)
        names = ", ".join(f"`{name}`" for name in data.column_names)
        # chDB resolves ``Python(arrow_batch)`` to this local variable by name.
        arrow_batch = data  # noqa: F841
        with self._lock:
            self._connection.query(
                f"INSERT INTO {qualified_table} ({names}){clause} "
                f"SELECT {names} FROM Python(arrow_batch)"
            )
            self.inserts += 1

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def _probe(connection: Any) -> None:
    """Raise unless ``Python()`` reads an Arrow table on ``connection``."""
    arrow_batch = pa.table({"x": [1, 2, 3]})  # noqa: F841
    result = connection.query("SELECT sum(x) FROM Python(arrow_batch)", "CSV")
    if str(result).strip() != "6":
        raise RuntimeError(f"unexpected probe result {str(result).strip()!r}")


def open_fast_path(path: str) -> ChdbArrowInserter | None:
    """The fast inserter for the chDB data ``path``, or ``None`` (logged) if it cannot work."""
    try:
        import chdb

        connection = chdb.connect(path)  # type: ignore[no-untyped-call]
        _probe(connection)
    except Exception as exc:
        logger.warning(
            "arrow inserts: chDB's Python() table function is unavailable (%s); "
            "using clickhouse-connect's insert_arrow",
            exc,
        )
        return None
    logger.info("arrow inserts: chDB Python() table function on chdb.connect(%r)", path)
    return ChdbArrowInserter(connection)
