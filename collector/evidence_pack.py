"""``tracerail audit export-pack``: write an evidence pack (format: tracerail.evidence.pack)."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from tracerail.collector.checkpoints import DirectorySink
from tracerail.collector.errors import InvalidInput
from tracerail.collector.settings import Settings
from tracerail.collector.store import checkpoints as stored
from tracerail.collector.store import evidence
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.compliance import ReportRequest, compliance_report
from tracerail.evidence import Checkpoint, KeyRing, inclusion_proofs
from tracerail.evidence import pack as fmt
from tracerail.evidence.checkpoint import iso_ns
from tracerail.evidence.pack_timestamps import certificates_pem, token_line
from tracerail.version import __version__


class PackError(InvalidInput):
    """The pack cannot be made (nothing in the period, nothing signed yet); says why."""


def _checkpoints(
    store: ClickHouseStore, settings: Settings, project: str, first: int
) -> list[Checkpoint]:
    """The project's checkpoints from ``first`` on: the table's and the sink's, once each."""
    found = {cp.identity: cp for cp in stored.read(store, project, min_seq=first)}
    for _, item in DirectorySink(settings.checkpoint_path()).read():
        if isinstance(item, Checkpoint) and item.project == project and item.seq >= first:
            found.setdefault(item.identity, item)
    return sorted(found.values(), key=lambda c: (c.seq, c.signed_at_ns))


def _tokens(settings: Settings, checkpoints: list[Checkpoint]) -> list[tuple[Checkpoint, bytes]]:
    """The time-stamp tokens the sink holds for ``checkpoints``."""
    sink = DirectorySink(settings.checkpoint_path())
    found = ((cp, sink.token_of(cp)) for cp in checkpoints)
    return [(cp, token) for cp, token in found if token is not None]


def _line(value: Any) -> bytes:
    return (json.dumps(value, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def export_pack(
    store: ClickHouseStore,
    settings: Settings,
    project: str,
    start: datetime,
    end: datetime,
    out: Path,
    *,
    keys: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write the pack for ``project`` over ``[start, end)`` to ``out``; return its manifest.

    The period is the compliance report's (whole hours). Rows are those of the batches
    written in it, and of the later batches up to the first signed checkpoint at or after the
    period's last batch, which anchors them all.
    """
    report = compliance_report(store, project, settings, ReportRequest(start, end))
    lo = datetime.fromisoformat(report["scope"]["from"].replace("Z", "+00:00"))
    hi = datetime.fromisoformat(report["scope"]["to"].replace("Z", "+00:00"))
    seqs = evidence.window_seqs(store, project, lo, hi)
    if seqs is None:
        raise PackError(f"project {project!r} has no ledger batches in {lo} .. {hi}")
    first, window_last = seqs
    signed = _checkpoints(store, settings, project, first)
    covering = [cp for cp in signed if cp.seq >= window_last]
    if not covering:
        raise PackError(
            f"no signed checkpoint covers batch {window_last} yet: run `tracerail audit "
            "checkpoint` (or wait for the scheduled one) and export again"
        )
    last = covering[0].seq
    ring_path = (
        keys
        or settings.checkpoint_public_keys
        or (DirectorySink(settings.checkpoint_path()).keyring_path)
    )
    ring = KeyRing.load(ring_path)
    headers = evidence.batch_headers(store, project, first, last)
    total = sum(int(h["row_count"]) for h in headers)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with (
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        tempfile.TemporaryFile(dir=out.parent) as proofs,  # one zip member is written at a time
    ):
        with archive.open(fmt.ROWS, "w") as rows:
            for header, batch in evidence.batch_rows(store, project, headers):
                seq = int(header["seq"])
                paths = inclusion_proofs([r["row_hash"] for r in batch])
                for row, path in zip(batch, paths, strict=True):
                    index = int(row["row_index"])
                    rows.write(
                        _line(
                            {
                                "seq": seq,
                                "row_index": index,
                                "kind": row["kind"],
                                "trace_id": row["trace_id"],
                                "span_id": row["span_id"],
                                "payload": row["payload"],
                                "row_hash": row["row_hash"],
                            }
                        )
                    )
                    proofs.write(_line({"seq": seq, "row_index": index, "path": path}))
                written += len(batch)
                if progress is not None:
                    progress(written, total)
        proofs.seek(0)
        with archive.open(fmt.PROOFS, "w") as member:
            shutil.copyfileobj(proofs, member, 1 << 20)
        archive.writestr(
            fmt.BATCHES,
            b"".join(
                _line({**h, "seq": int(h["seq"]), "row_count": int(h["row_count"])})
                for h in headers
            ),
        )
        packed = [cp for cp in signed if cp.seq <= last]
        archive.writestr(fmt.CHECKPOINTS, b"".join(_line(cp.as_dict()) for cp in packed))
        tokens = _tokens(settings, packed)
        archive.writestr(fmt.TIMESTAMPS, b"".join(_line(token_line(*t)) for t in tokens))
        archive.writestr(fmt.TSA_CERTS, certificates_pem(token for _, token in tokens))
        archive.writestr(fmt.KEYS, json.dumps(ring.as_dict(), indent=2))
        archive.writestr(fmt.REPORT, json.dumps(report, indent=2, default=str))
        manifest = {
            "type": fmt.PACK_TYPE,
            "project": project,
            "from": report["scope"]["from"],
            "to": report["scope"]["to"],
            "first_seq": first,
            "window_last_seq": window_last,
            "last_seq": last,
            "rows": written,
            "batches": len(headers),
            "checkpoints": len(packed),
            "timestamps": len(tokens),
            "created_at": iso_ns(time.time_ns()),
            "generator": f"tracerail {__version__}",
        }
        archive.writestr(fmt.MANIFEST, json.dumps(manifest, indent=2))
    return manifest
