"""Config precedence (argument > TRACERAIL_* env > default) and errors naming the field."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracerail
from tracerail.config import DEFAULT_ENDPOINT, resolve_config


def test_defaults() -> None:
    config = resolve_config()
    assert config.endpoint == DEFAULT_ENDPOINT == "http://127.0.0.1:4318"
    assert config.traces_url == "http://127.0.0.1:4318/v1/traces"
    assert config.capture_content is True
    assert config.sample_rate == 1.0


def test_environment_overrides_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACERAIL_ENDPOINT", "http://collector:9999/")
    monkeypatch.setenv("TRACERAIL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("TRACERAIL_CAPTURE_CONTENT", "false")
    monkeypatch.setenv("TRACERAIL_SAMPLE_RATE", "0.25")
    monkeypatch.setenv("TRACERAIL_API_KEY", "env-key")
    config = resolve_config()
    assert config.endpoint == "http://collector:9999"
    assert config.service_name == "from-env"
    assert config.capture_content is False
    assert config.sample_rate == 0.25
    assert config.api_key == "env-key"


def test_argument_overrides_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACERAIL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("TRACERAIL_CAPTURE_CONTENT", "false")
    monkeypatch.setenv("TRACERAIL_SAMPLE_RATE", "0.25")
    config = resolve_config(service_name="from-arg", capture_content=True, sample_rate=0.5)
    assert (config.service_name, config.capture_content, config.sample_rate) == (
        "from-arg",
        True,
        0.5,
    )


def test_a_keyword_that_is_no_setting_is_refused() -> None:
    with pytest.raises(TypeError, match="sample_ratio"):
        resolve_config(sample_ratio=0.5)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("kwargs", "env", "field"),
    [
        ({"endpoint": "collector:4318"}, {}, "endpoint"),
        ({"endpoint": "ftp://x"}, {}, "endpoint"),
        ({"sample_rate": 1.5}, {}, "sample_rate"),
        ({"sample_rate": -0.1}, {}, "sample_rate"),
        ({}, {"TRACERAIL_SAMPLE_RATE": "lots"}, "sample_rate"),
        ({}, {"TRACERAIL_CAPTURE_CONTENT": "maybe"}, "capture_content"),
        ({"service_name": "  "}, {}, "service_name"),
        ({"max_content_chars": -1}, {}, "max_content_chars"),
        ({}, {"TRACERAIL_MAX_CONTENT_CHARS": "1e3x"}, "max_content_chars"),
    ],
)
def test_invalid_config_raises_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, object], env: dict[str, str], field: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(tracerail.ConfigError) as info:
        tracerail.init(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}:")


def test_init_uses_the_given_provider() -> None:
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    tracerail.init(tracer_provider=provider, span_exporter=memory)
    try:

        @tracerail.observe
        def work() -> int:
            return 1

        work()
        tracerail.flush()
        assert [s.name for s in memory.get_finished_spans()] == ["work"]
    finally:
        tracerail.shutdown()


def test_init_never_replaces_an_existing_global_provider() -> None:
    """Run in a fresh interpreter: the global provider can be set only once per process."""
    import subprocess
    import sys

    code = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import tracerail

app_provider = TracerProvider()
app_memory = InMemorySpanExporter()
app_provider.add_span_processor(SimpleSpanProcessor(app_memory))
trace.set_tracer_provider(app_provider)
ours = InMemorySpanExporter()
tracerail.init(span_exporter=ours)
assert trace.get_tracer_provider() is app_provider

@tracerail.observe
def work():
    return 1

work()
tracerail.flush()
assert [s.name for s in app_memory.get_finished_spans()] == ["work"]
assert [s.name for s in ours.get_finished_spans()] == ["work"]
tracerail.shutdown()
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr


def test_sample_rate_zero_records_nothing() -> None:
    import subprocess
    import sys

    code = """
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import tracerail
memory = InMemorySpanExporter()
tracerail.init(sample_rate=0.0, span_exporter=memory)
@tracerail.observe
def work():
    return 1
assert work() == 1
tracerail.flush()
print(len(memory.get_finished_spans()))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "0", result.stderr


def test_second_init_applies_the_new_configuration() -> None:
    """Re-initialising replaces the service name even though the global provider is fixed."""
    import subprocess
    import sys

    code = """
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import tracerail
first = InMemorySpanExporter()
tracerail.init(service_name="first", span_exporter=first)
second = InMemorySpanExporter()
tracerail.init(service_name="second", span_exporter=second)
@tracerail.observe
def work():
    return 1
work()
tracerail.flush()
spans = second.get_finished_spans()
print(len(first.get_finished_spans()), [s.resource.attributes["service.name"] for s in spans])
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "0 ['second']", result.stderr
