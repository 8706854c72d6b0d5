"""``tracerail audit verify-pack PACK``: works with only the ``tracerail`` package installed
(plus ``cryptography`` for signatures), without the collector."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from tracerail.errors import ConfigError
from tracerail.evidence.checkpoint import KeyRing
from tracerail.evidence.pack import verify_pack
from tracerail.evidence.pack_timestamps import read_certificates

PROGRESS_FROM_ROWS: Final = 50_000


class ProgressBar:
    """A one-line bar on stderr, redrawn at most every 0.2 s."""

    def __init__(self, width: int = 30) -> None:
        self.width = width
        self._drawn = 0.0
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if total < PROGRESS_FROM_ROWS or (now - self._drawn < 0.2 and done < total):
            return
        self._drawn = now
        share = min(done / total, 1.0) if total else 1.0
        filled = int(share * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r[{bar}] {share:4.0%} {done:,}/{total:,} rows{end}")
        sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tracerail audit verify-pack",
        description="Check an evidence pack offline: every Merkle proof, batch link and "
        "checkpoint signature, and the report's figures recomputed from the rows.",
    )
    parser.add_argument("pack", type=Path)
    parser.add_argument(
        "--keys",
        type=Path,
        help="Key ring you got from the operator separately (default: the pack's keys.json).",
    )
    parser.add_argument(
        "--tsa-cert",
        type=Path,
        action="append",
        help="PEM certificate(s) of the time-stamping authority, got from the TSA; only these "
        "may sign the pack's time-stamps (default: the certificates the tokens carry).",
    )
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")
    args = parser.parse_args(argv)
    try:
        ring = KeyRing.load(args.keys) if args.keys is not None else None
        trusted = _tsa_certificates(args.tsa_cert) if args.tsa_cert else None
        report = verify_pack(
            args.pack,
            keys=ring,
            progress=None if args.quiet else ProgressBar(),
            tsa_certs=trusted,
        )
    except ConfigError as exc:
        sys.stderr.write(f"verify-pack: {exc}\n")
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(
            f"checked {report.rows} rows, {report.batches} batches, "
            f"{report.checkpoints} checkpoint(s) of project {report.project}"
        )
        source = "the pack's own keys.json" if report.keys_from_pack else "--keys"
        print(f"keys ({source}): {', '.join(report.key_ids) or 'none'}")
        if report.keys_from_pack:
            print(
                "note: keys from the pack prove only that the pack is consistent; compare these "
                "key ids with the ones the operator published, or pass --keys"
            )
        for stamp in report.timestamps:
            print(
                f"time-stamped: checkpoint of batch {stamp['seq']} existed by "
                f"{stamp['gen_time']} ({stamp['tsa_subject']}, certificate sha256 "
                f"{stamp['tsa_certificate_sha256']})"
            )
        if report.timestamps and report.tsa_certs_from_pack:
            print(
                "note: the TSA certificate comes with the pack; compare its sha256 with the "
                "one the TSA publishes, or pass --tsa-cert"
            )
        for finding in report.findings:
            print(f"TAMPERED: {finding}")
        if report.ok:
            print("evidence pack verified")
    return 0 if report.ok else 1


def _tsa_certificates(paths: list[Path]) -> list[bytes]:
    try:
        return [der for path in paths for der in read_certificates(path.read_bytes())]
    except (OSError, ValueError) as exc:
        raise ConfigError("tsa-cert", f"cannot read the TSA certificate: {exc}") from None


if __name__ == "__main__":
    raise SystemExit(main())
