"""RFC 3161 time-stamps of signed checkpoints: the HTTP client of a time-stamping authority.

When ``tsa_url`` (``TRACERAIL_TSA_URL``, ``--tsa-url``) is set, every checkpoint, scheduled or
on demand, is sent to the TSA once it is signed and stored: a ``TimeStampReq`` over SHA-256 of
its exact bytes (:meth:`Checkpoint.signed_bytes`), POSTed as ``application/timestamp-query``.
The reply is checked (status granted, same nonce and imprint, the TSA's signature) and the
token is written beside the checkpoint in the sink (``<checkpoint>.tsr``, DER).

A TSA failure never loses a checkpoint: it is already signed and stored; the failure is
logged and returned to the caller (``audit checkpoint`` exits 3 when it asked for a TSA and
a time-stamp failed).
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from tracerail.errors import ConfigError
from tracerail.evidence import Checkpoint, CheckpointProblem, CheckpointReport
from tracerail.evidence.checkpoint import iso_ns
from tracerail.evidence.timestamp import (
    QUERY_TYPE,
    REPLY_TYPE,
    TimestampError,
    TimestampInfo,
    check_token,
    make_request,
    read_reply,
)

if TYPE_CHECKING:
    from tracerail.collector.checkpoints import DirectorySink

logger = logging.getLogger("tracerail.collector")

TSA_FAILED: Final = "tsa failed"  # no usable answer (network, HTTP status, content type)
TIMEOUT_SECONDS: Final = 30.0
MAX_REPLY_BYTES: Final = 1 << 20


class TsaClient:
    """Asks one TSA (an ``http(s)://`` URL) for time-stamp tokens."""

    def __init__(self, url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError("tsa_url", f"{url!r} is not an http(s):// URL")
        self.url, self.timeout = url, timeout

    def stamp(self, data: bytes) -> tuple[bytes, TimestampInfo]:
        """The checked token (DER) over ``data``; :class:`TimestampError` naming any failure."""
        query, nonce = make_request(data)
        request = urllib.request.Request(
            self.url,
            data=query,
            method="POST",
            headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                kind = answer.headers.get_content_type()
                reply = answer.read(MAX_REPLY_BYTES + 1)
        except (urllib.error.URLError, OSError) as exc:
            raise TimestampError(TSA_FAILED, f"{self.url}: {exc}") from None
        if kind != REPLY_TYPE:
            raise TimestampError(TSA_FAILED, f"{self.url} answered {kind}, not {REPLY_TYPE}")
        if len(reply) > MAX_REPLY_BYTES:
            raise TimestampError(TSA_FAILED, f"{self.url} answered more than 1 MiB")
        return read_reply(reply, data, nonce)


@dataclass(frozen=True, slots=True)
class Stamped:
    """The outcome of time-stamping one checkpoint: the token's attestation, or the error."""

    checkpoint: Checkpoint
    info: TimestampInfo | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The checkpoint it is about (project, seq), and the token's attestation or the error."""
        cp = self.checkpoint
        return {
            "project": cp.project,
            "seq": cp.seq,
            "signed_at_ns": cp.signed_at_ns,
            "ok": self.info is not None,
            **(self.info.as_dict() if self.info is not None else {"error": self.error}),
        }


def stamp_lines(stamps: Sequence[Mapping[str, Any]]) -> list[str]:
    """What ``audit checkpoint`` prints for each outcome (:meth:`Stamped.as_dict`)."""
    return [
        f"time-stamped {s['project']} batch {s['seq']} at {s['gen_time']} by {s['tsa_subject']}"
        if s["ok"]
        else f"TIME-STAMP FAILED for {s['project']} batch {s['seq']} (the checkpoint is signed "
        f"and stored): {s['error']}"
        for s in stamps
    ]


def timestamp_checkpoints(
    client: TsaClient, sink: DirectorySink, checkpoints: Sequence[Checkpoint]
) -> list[Stamped]:
    """Time-stamp each checkpoint and write its token beside it in ``sink``; a failure is
    logged and returned, never raised (the checkpoint stays signed and stored)."""
    done: list[Stamped] = []
    for checkpoint in checkpoints:
        try:
            token, info = client.stamp(checkpoint.signed_bytes())
            sink.write_token(checkpoint, token)
        except (TimestampError, ConfigError, OSError) as exc:
            logger.warning(
                "time-stamping the checkpoint of %s batch %d failed (it is signed and stored "
                "without a time-stamp): %s",
                checkpoint.project,
                checkpoint.seq,
                exc,
            )
            done.append(Stamped(checkpoint, error=str(exc)))
            continue
        done.append(Stamped(checkpoint, info=info))
    return done


def check_sink_tokens(
    sink: DirectorySink,
    checkpoints: Iterable[Checkpoint],
    report: CheckpointReport,
    notes: list[str],
) -> None:
    """Check the time-stamp token stored beside each checkpoint that has one: a valid one is
    added to ``report.timestamps`` and ``notes`` (with its genTime), any other is a problem."""
    for cp in sorted(checkpoints, key=lambda c: (c.project, c.seq, c.signed_at_ns)):
        token = sink.token_of(cp)
        if token is None:
            continue
        try:
            info = check_token(token, cp.signed_bytes())
        except TimestampError as exc:
            detail = f"{sink.token_path(cp).name}: {exc.detail}"
            report.problems.append(
                CheckpointProblem(exc.kind, cp.project, cp.seq, iso_ns(cp.signed_at_ns), detail)
            )
            continue
        stamp = info.as_dict()
        report.timestamps.append(
            {"project": cp.project, "seq": cp.seq, "signed_at": iso_ns(cp.signed_at_ns), **stamp}
        )
        notes.append(
            f"checkpoint of {cp.project} batch {cp.seq} time-stamped {stamp['gen_time']} by "
            f"{info.tsa_subject} (certificate sha256 {info.tsa_certificate_sha256[:16]}…)"
        )
