"""Evidence packs: what ``tracerail audit export-pack`` writes and ``verify-pack`` checks.

A pack is a zip a third party verifies offline, with only this package (no collector, no
ClickHouse)::

    manifest.json     project, period, sequence numbers, counts
    rows.jsonl        the ledger rows of batches first_seq..last_seq, in (seq, row_index) order
    proofs.jsonl      per row: its Merkle inclusion proof (sibling hashes) to its batch root
    batches.jsonl     the batch headers first_seq..last_seq (Merkle root, prev and chain hash)
    checkpoints.jsonl the signed checkpoints of those batches (the last one anchors last_seq)
    keys.json         the key ring the checkpoints were signed under
    report.json       the compliance report of the period
    timestamps.jsonl  RFC 3161 time-stamp tokens of those checkpoints (when a TSA was used)
    tsa-certs.pem     the certificates that signed the tokens

What a check proves: each row is in its batch (proof → Merkle root), each batch is in the
chain (header → chain hash, linked to the one before), and the chain up to ``last_seq`` is the
one the operator's key signed (checkpoint). Every failure is named by the kind of edit that
explains it (:data:`EDIT_KINDS`).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from tracerail.errors import ConfigError
from tracerail.evidence.checkpoint import (
    Checkpoint,
    KeyRing,
    check_checkpoints,
    iso_ns,
    parse_ns,
)
from tracerail.evidence.hashing import BatchHeader, merkle_root, root_from_proof, row_hash
from tracerail.evidence.pack_timestamps import check_pack_timestamps, read_certificates
from tracerail.evidence.timestamp import TIMESTAMP_INVALID, TIMESTAMP_MISMATCH

PACK_TYPE: Final = "tracerail.evidence-pack/v1"
MANIFEST: Final = "manifest.json"
ROWS: Final = "rows.jsonl"
PROOFS: Final = "proofs.jsonl"
BATCHES: Final = "batches.jsonl"
CHECKPOINTS: Final = "checkpoints.jsonl"
KEYS: Final = "keys.json"
REPORT: Final = "report.json"
TIMESTAMPS: Final = "timestamps.jsonl"
TSA_CERTS: Final = "tsa-certs.pem"
FILES: Final = (MANIFEST, ROWS, PROOFS, BATCHES, CHECKPOINTS, KEYS, REPORT)
# Packs whose manifest counts "timestamps" also hold these.
TIMESTAMP_FILES: Final = (TIMESTAMPS, TSA_CERTS)

# The kinds of edit verify-pack names.
ROW_CHANGED: Final = "row changed"
ROW_REMOVED: Final = "row removed"
ROW_ADDED: Final = "row added"
ROWS_REORDERED: Final = "rows reordered"
PROOF_CHANGED: Final = "proof changed"
BATCH_CHANGED: Final = "batch header changed"
BATCH_REMOVED: Final = "batch removed"
CHECKPOINT_CHANGED: Final = "checkpoint changed"
NOT_ANCHORED: Final = "not anchored"
REPORT_CHANGED: Final = "report figure changed"
MANIFEST_CHANGED: Final = "manifest changed"
FILE_MISSING: Final = "file missing or unreadable"
EDIT_KINDS: Final = (
    ROW_CHANGED,
    ROW_REMOVED,
    ROW_ADDED,
    ROWS_REORDERED,
    PROOF_CHANGED,
    BATCH_CHANGED,
    BATCH_REMOVED,
    CHECKPOINT_CHANGED,
    NOT_ANCHORED,
    TIMESTAMP_MISMATCH,
    TIMESTAMP_INVALID,
    REPORT_CHANGED,
    MANIFEST_CHANGED,
    FILE_MISSING,
)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Finding:
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.upper()}: {self.detail}"


@dataclass
class PackReport:
    """What verify-pack checked, the figures it recomputed, and every finding."""

    project: str = ""
    rows: int = 0
    batches: int = 0
    checkpoints: int = 0
    key_ids: list[str] = field(default_factory=list)
    keys_from_pack: bool = True
    # Checkpoints with a valid time-stamp: seq, signed_at, gen_time and the TSA certificate.
    timestamps: list[dict[str, Any]] = field(default_factory=list)
    tsa_certs_from_pack: bool = True
    recomputed: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, kind: str, detail: str) -> None:
        self.findings.append(Finding(kind, detail))

    def kinds(self) -> set[str]:
        return {f.kind for f in self.findings}

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}


def _jsonl(handle: IO[bytes]) -> Iterator[dict[str, Any]]:
    for line in io.TextIOWrapper(handle, encoding="utf-8"):
        if line.strip():
            yield json.loads(line)


class _Figures:
    """Counts recomputed from the rows for the report's volume section: generations whose
    provenance row falls in the report's period (one per span), errors, models, services,
    calls per day and in the model scorecard. Spans an ``erasure`` row records as erased are
    left out of every figure, as the report leaves them out (erasure recounts the hourly
    aggregates its daily and scorecard figures read)."""

    def __init__(self, start_ns: int, end_ns: int) -> None:
        self.start_ns, self.end_ns = start_ns, end_ns
        self.spans: dict[tuple[str, str], tuple[str, bool, str, str]] = {}
        self.erased: set[tuple[str, str]] = set()

    def add(self, row: dict[str, Any]) -> None:
        key = (str(row.get("trace_id")), str(row.get("span_id")))
        if row.get("kind") == "erasure":
            self.erased.add(key)
            return
        if row.get("kind") != "provenance":
            return
        body = json.loads(row["payload"])
        time_ns = int(body.get("time_ns") or 0)
        if not self.start_ns <= time_ns < self.end_ns or key in self.spans:
            return
        model = body.get("response_model") or body.get("request_model") or ""
        self.spans[key] = (
            iso_ns(time_ns)[:10],
            body.get("status") == "ERROR",
            str(model),
            str(body.get("service") or ""),
        )

    def compare(self, report: dict[str, Any], out: PackReport) -> None:
        volume = report.get("volume", {})
        kept = [v for k, v in self.spans.items() if k not in self.erased]
        calls = len(kept)
        by_day = Counter(day for day, _, _, _ in kept)
        expected: list[tuple[str, Any, Any]] = [
            ("volume.calls", volume.get("calls"), calls),
            ("volume.errors", volume.get("errors"), sum(error for _, error, _, _ in kept)),
            (
                "volume.models",
                sorted(volume.get("models", [])),
                sorted({model for _, _, model, _ in kept if model}),
            ),
            (
                "volume.services",
                sorted(volume.get("services", [])),
                sorted({service for _, _, _, service in kept if service}),
            ),
            (
                "model_scorecard.total_calls",
                report.get("model_scorecard", {}).get("total_calls"),
                calls,
            ),
        ]
        days = {d.get("day"): d.get("calls") for d in volume.get("by_day", [])}
        expected += [
            (f"volume.by_day[{day}].calls", days.get(day, 0), by_day.get(day, 0))
            for day in sorted(set(days) | set(by_day))
        ]
        out.recomputed = {name: value for name, _, value in expected}
        for name, reported, recomputed in expected:
            if reported != recomputed:
                out.add(
                    REPORT_CHANGED,
                    f"{name} is {reported!r} in report.json, the rows give {recomputed!r}",
                )


def _batch_findings(
    seq: int, header: dict[str, Any], rows: list[dict[str, Any]], proofs: dict[int, list[str]]
) -> list[Finding]:
    """Name what is wrong with one batch's rows and proofs against its header."""
    found: list[Finding] = []
    size = int(header["row_count"])
    root = str(header["merkle_root"])
    indexes = [int(r["row_index"]) for r in rows]
    if indexes != sorted(indexes):
        found.append(Finding(ROWS_REORDERED, f"batch {seq}: rows are not in row_index order"))
    present = set(indexes)
    missing = sorted(set(range(size)) - present)
    if missing:
        found.append(Finding(ROW_REMOVED, f"batch {seq}: row(s) {missing[:10]} of {size} absent"))
    extra = sorted(i for i in present if i >= size) + [
        i for i, n in Counter(indexes).items() if n > 1
    ]
    if extra:
        found.append(Finding(ROW_ADDED, f"batch {seq}: row(s) {extra[:10]} not in the batch"))
    by_index = {int(r["row_index"]): r for r in rows}
    leaves = {i: str(r["row_hash"]) for i, r in by_index.items()}
    ordered = [leaves[i] for i in range(size) if i in leaves]
    rows_match_root = len(ordered) == size and merkle_root(ordered) == root
    for index in sorted(by_index):
        row = by_index[index]
        where = f"batch {seq} row {index} ({row.get('kind')}, span {row.get('span_id')})"
        if row_hash(str(row["payload"])) != row["row_hash"]:
            found.append(Finding(ROW_CHANGED, f"{where}: payload does not match its hash"))
            continue
        if index >= size:
            continue
        path = proofs.get(index)
        if path is None:
            found.append(Finding(PROOF_CHANGED, f"{where}: no inclusion proof"))
            continue
        if root_from_proof(row["row_hash"], index, size, path) == root:
            continue
        if rows_match_root:
            found.append(Finding(PROOF_CHANGED, f"{where}: proof does not lead to the root"))
            continue
        moved = [
            j
            for j, other in proofs.items()
            if j != index and root_from_proof(row["row_hash"], j, size, other) == root
        ]
        if moved:
            found.append(
                Finding(ROWS_REORDERED, f"{where}: this row belongs at row_index {moved[0]}")
            )
        else:
            found.append(Finding(ROW_CHANGED, f"{where}: not the row the batch root covers"))
    return found


class _Proofs:
    """proofs.jsonl read alongside rows.jsonl, one batch at a time (both in seq order), so a
    pack of any size is checked in the memory of one batch."""

    def __init__(self, lines: Iterator[dict[str, Any]]) -> None:
        self._lines = lines
        self._next = next(lines, None)

    def of_batch(self, seq: int) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        while self._next is not None and int(self._next["seq"]) <= seq:
            if int(self._next["seq"]) == seq:
                found[int(self._next["row_index"])] = [str(p) for p in self._next["path"]]
            self._next = next(self._lines, None)
        return found


def _read_json(archive: zipfile.ZipFile, name: str, report: PackReport) -> Any:
    try:
        return json.loads(archive.read(name))
    except (KeyError, ValueError) as exc:
        report.add(FILE_MISSING, f"{name}: {exc}")
        return None


def verify_pack(
    path: Path,
    *,
    keys: KeyRing | None = None,
    progress: Progress | None = None,
    tsa_certs: list[bytes] | None = None,
) -> PackReport:
    """Check every proof, header link, signature and time-stamp of the pack at ``path``,
    recompute the report's volume figures, and name every edit found. ``keys`` (the ring the
    auditor got from the operator separately) is trusted over the pack's own ``keys.json``;
    ``tsa_certs`` (DER, got from the TSA) over the certificates the pack and tokens carry."""
    report = PackReport()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ConfigError("pack", f"cannot open {path}: {exc}") from None
    with archive:
        names = set(archive.namelist())
        for name in FILES:
            if name not in names:
                report.add(FILE_MISSING, name)
        if report.findings:
            return report
        manifest = _read_json(archive, MANIFEST, report) or {}
        content = _read_json(archive, REPORT, report) or {}
        ring_data = _read_json(archive, KEYS, report)
        report.project = str(manifest.get("project", ""))
        if keys is None:
            keys = KeyRing.from_dict(ring_data or {"keys": []})
        else:
            report.keys_from_pack = False
        report.key_ids = [k.key_id for k in keys.keys]
        headers = _check_batches(archive, manifest, report)
        _check_rows(archive, manifest, headers, content, report, progress)
        checkpoints = _check_checkpoints(archive, manifest, headers, keys, report)
        if "timestamps" in manifest:
            _check_timestamps(archive, manifest, checkpoints, tsa_certs, report)
    return report


def _check_timestamps(
    archive: zipfile.ZipFile,
    manifest: dict[str, Any],
    checkpoints: list[Checkpoint],
    trusted: list[bytes] | None,
    report: PackReport,
) -> None:
    missing = [name for name in TIMESTAMP_FILES if name not in archive.namelist()]
    if missing:
        report.add(FILE_MISSING, ", ".join(missing))
        return
    report.tsa_certs_from_pack = trusted is None
    try:
        certificates = read_certificates(archive.read(TSA_CERTS))
    except ValueError as exc:
        report.add(TIMESTAMP_INVALID, f"{TSA_CERTS}: {exc}")
        certificates = []
    with archive.open(TIMESTAMPS) as handle:
        result = check_pack_timestamps(_jsonl(handle), certificates, checkpoints, trusted)
    report.timestamps = result.stamped
    for kind, detail in result.problems:
        report.add(kind, detail)
    counted = manifest.get("timestamps")
    if counted != result.lines:
        report.add(
            MANIFEST_CHANGED, f"manifest says {counted} time-stamps, the pack holds {result.lines}"
        )


def _check_batches(
    archive: zipfile.ZipFile, manifest: dict[str, Any], report: PackReport
) -> dict[int, dict[str, Any]]:
    headers: dict[int, dict[str, Any]] = {}
    previous: dict[str, Any] | None = None
    with archive.open(BATCHES) as handle:
        for batch in _jsonl(handle):
            seq = int(batch["seq"])
            header = BatchHeader(
                report.project,
                seq,
                str(batch["batch_id"]),
                int(batch["created_at_ns"]),
                int(batch["row_count"]),
                str(batch["merkle_root"]),
            )
            if header.chain_hash(str(batch["prev_hash"])) != batch["chain_hash"]:
                report.add(BATCH_CHANGED, f"batch {seq}: header does not match its chain hash")
            if previous is not None:
                if seq != int(previous["seq"]) + 1:
                    report.add(BATCH_REMOVED, f"batch {int(previous['seq']) + 1} is missing")
                elif batch["prev_hash"] != previous["chain_hash"]:
                    report.add(BATCH_CHANGED, f"batch {seq}: does not link to batch {seq - 1}")
            headers[seq] = batch
            previous = batch
    report.batches = len(headers)
    first, last = manifest.get("first_seq"), manifest.get("last_seq")
    if headers and (first != min(headers) or last != max(headers)):
        report.add(
            MANIFEST_CHANGED,
            f"manifest says batches {first}..{last}, the pack holds {min(headers)}..{max(headers)}",
        )
    return headers


def _check_rows(
    archive: zipfile.ZipFile,
    manifest: dict[str, Any],
    headers: dict[int, dict[str, Any]],
    content: dict[str, Any],
    report: PackReport,
    progress: Progress | None,
) -> None:
    scope = content.get("scope", {})
    figures = _Figures(parse_ns(scope["from"]) or 0, parse_ns(scope["to"]) or 0) if scope else None
    total = int(manifest.get("rows", 0))
    last_key: tuple[int, int] | None = None
    current: int | None = None
    batch_rows: list[dict[str, Any]] = []
    batch_proofs: dict[int, list[str]] = {}
    seen: set[int] = set()

    def finish() -> None:
        if current is None:
            return
        header = headers.get(current)
        if header is None:
            report.add(ROW_ADDED, f"rows of batch {current}, which is not in batches.jsonl")
            return
        report.findings.extend(_batch_findings(current, header, batch_rows, batch_proofs))

    with archive.open(ROWS) as rows_file, archive.open(PROOFS) as proofs_file:
        proofs = _Proofs(_jsonl(proofs_file))
        for row in _jsonl(rows_file):
            key = (int(row["seq"]), int(row["row_index"]))
            if last_key is not None and key[0] < last_key[0]:
                report.add(ROWS_REORDERED, f"batch {key[0]} rows come after batch {last_key[0]}")
            last_key = key
            if key[0] != current:
                finish()
                current, batch_rows, batch_proofs = key[0], [], proofs.of_batch(key[0])
                seen.add(key[0])
            batch_rows.append(row)
            report.rows += 1
            if figures is not None:
                figures.add(row)
            if progress is not None and report.rows % 10_000 == 0:
                progress(report.rows, total)
        finish()
    if progress is not None:
        progress(report.rows, total)
    for seq, header in headers.items():
        if seq not in seen and int(header["row_count"]) > 0:
            report.add(ROW_REMOVED, f"batch {seq}: all {header['row_count']} rows absent")
    if report.rows != total:
        report.add(MANIFEST_CHANGED, f"manifest says {total} rows, the pack holds {report.rows}")
    if figures is not None:
        figures.compare(content, report)


def _check_checkpoints(
    archive: zipfile.ZipFile,
    manifest: dict[str, Any],
    headers: dict[int, dict[str, Any]],
    keys: KeyRing,
    report: PackReport,
) -> list[Checkpoint]:
    checkpoints: list[Checkpoint] = []
    with archive.open(CHECKPOINTS) as handle:
        for data in _jsonl(handle):
            try:
                checkpoints.append(Checkpoint.from_dict(data))
            except ValueError as exc:
                report.add(CHECKPOINT_CHANGED, str(exc))
    report.checkpoints = len(checkpoints)
    chain = {report.project: {seq: str(h["chain_hash"]) for seq, h in headers.items()}}
    head = {report.project: max(headers) if headers else 0}
    result = check_checkpoints(checkpoints, keys, chain, head)
    for problem in result.problems:
        report.add(CHECKPOINT_CHANGED, str(problem))
    last = max(headers) if headers else None
    good = {cp.seq for cp in checkpoints} - {p.seq for p in result.problems}
    if last is not None and last not in good:
        report.add(NOT_ANCHORED, f"no valid signed checkpoint of the last batch ({last})")
    if any(cp.project != report.project for cp in checkpoints):
        report.add(CHECKPOINT_CHANGED, "a checkpoint names another project")
    return checkpoints
