"""Entry point of the ``tracerail`` command; the commands live in the collector extra."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:3] == ["audit", "verify-pack"]:
        # The offline verifier needs no collector (an auditor installs only `tracerail`).
        from tracerail.evidence.cli import main as verify_pack

        raise SystemExit(verify_pack(sys.argv[3:]))
    try:
        from tracerail.collector.cli import main as collector_main
    except ImportError as exc:
        sys.stderr.write(
            f"tracerail: the command line needs the collector extra ({exc.name} is missing).\n"
            "Install it with: pip install 'tracerail[collector]'\n"
        )
        raise SystemExit(2) from None
    collector_main()
