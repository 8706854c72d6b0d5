"""The benchmarks' workload: realistic GenAI span traffic as the OTLP exporter sends it.

The generator is defined once, in ``tests/support/workload.py``, because the ingest tests check
the pipeline on the same traffic the benchmarks measure; ``bench/`` may import test support,
tests never import ``bench/``.
"""

from tests.support.workload import Body, make_bodies, record_template

__all__ = ["Body", "make_bodies", "record_template"]
