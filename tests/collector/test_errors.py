"""The collector's exceptions form the one hierarchy drawn in ``collector/errors.py``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import tracerail.collector
from tracerail.collector.errors import CollectorError, InvalidInput, Unavailable


def _collector_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in pkgutil.walk_packages(tracerail.collector.__path__, "tracerail.collector."):
        loaded = importlib.import_module(module.name)
        for _, obj in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("tracerail.collector"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


def test_every_collector_exception_has_the_common_root() -> None:
    exceptions = _collector_exceptions()
    assert len(exceptions) >= 18
    strays = [e.__qualname__ for e in exceptions if not issubclass(e, CollectorError)]
    assert strays == []


def test_the_drawn_branches() -> None:
    from tracerail.collector.ingest import IngestBusy, IngestUnavailable
    from tracerail.collector.otlp.errors import BodyTooLarge, InvalidSpan
    from tracerail.collector.scores import InvalidScore
    from tracerail.collector.store.clickhouse import StoreError

    for invalid in (BodyTooLarge, InvalidSpan, InvalidScore):
        assert issubclass(invalid, InvalidInput) and issubclass(invalid, ValueError)
    for later in (IngestBusy, IngestUnavailable, StoreError):
        assert issubclass(later, Unavailable) and issubclass(later, RuntimeError)


def test_the_docstring_names_every_exception() -> None:
    import tracerail.collector.errors as errors

    drawn = errors.__doc__ or ""
    missing = [e.__qualname__ for e in _collector_exceptions() if e.__qualname__ not in drawn]
    assert missing == []
