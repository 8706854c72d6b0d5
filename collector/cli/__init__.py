"""The ``tracerail`` command line (typer): one command tree, one module per command group.

:mod:`.app` builds the tree; :mod:`.common` holds what the groups share.
"""

from __future__ import annotations

from tracerail.collector.cli.app import app, main

__all__ = ["app", "main"]
