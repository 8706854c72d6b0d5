"""``deploy/compose``, the collector ``Dockerfile`` and ``deploy/otel-collector.yaml``.

No Docker engine or OpenTelemetry Collector binary runs here, so these are syntactic and
consistency checks: the files parse, name what must be there, and every path and setting they
reference exists.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from tracerail.collector.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "deploy" / "compose"
COMPOSE: dict[str, Any] = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())
OTEL: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "otel-collector.yaml").read_text())
PINNED = re.compile(r"^[\w./-]+:\d+(\.\d+)+$")


def _setting_fields(env: dict[str, str]) -> set[str]:
    return {
        name.removeprefix("TRACERAIL_").lower() for name in env if name.startswith("TRACERAIL_")
    }


def test_compose_services_and_pinned_images() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"clickhouse", "collector", "otel-collector"}
    assert services["clickhouse"]["image"].startswith("clickhouse/clickhouse-server:")
    for name in ("clickhouse", "otel-collector"):
        assert PINNED.match(services[name]["image"]), services[name]["image"]
    assert services["otel-collector"]["profiles"] == ["otel"]  # optional
    for name in ("clickhouse", "collector"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"
    assert services["collector"]["depends_on"]["clickhouse"]["condition"] == "service_healthy"


def test_compose_collector_environment_is_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    env = COMPOSE["services"]["collector"]["environment"]
    assert _setting_fields(env) <= set(Settings.model_fields)
    for name, value in env.items():
        monkeypatch.setenv(name, re.sub(r"\$\{(\w+):-([^}]*)\}", r"\2", str(value)))
    settings = Settings()
    assert settings.storage == "http://tracerail:change-me@clickhouse:8123"
    assert (settings.host, settings.port, settings.grpc_port) == ("0.0.0.0", 4318, 4317)


def test_compose_paths_exist() -> None:
    build = COMPOSE["services"]["collector"]["build"]
    context = (COMPOSE_DIR / build["context"]).resolve()
    assert context == ROOT
    assert (context / build["dockerfile"]).is_file()
    for service in COMPOSE["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (COMPOSE_DIR / source).is_file(), source
            else:
                assert source in COMPOSE["volumes"], source


def test_clickhouse_system_logs_are_capped_with_ttls() -> None:
    root = ET.parse(COMPOSE_DIR / "clickhouse" / "system-logs.xml").getroot()
    kept = [e for e in root if e.get("remove") != "1"]
    removed = {e.tag for e in root if e.get("remove") == "1"}
    assert {e.tag for e in kept} >= {"query_log", "part_log", "metric_log", "text_log"}
    assert {"trace_log", "query_thread_log"} <= removed
    for element in kept:
        engine = element.findtext("engine") or ""
        assert re.search(r"TTL event_date \+ INTERVAL \d+ DAY DELETE", engine), element.tag
        assert int(element.findtext("max_size_rows") or 0) > 0, element.tag


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    parser = DockerfileParser(str(COMPOSE_DIR / "Dockerfile"))
    instructions = parser.structure
    stages = [i["value"] for i in instructions if i["instruction"] == "FROM"]
    assert len(stages) == 2 and stages[0].endswith("AS builder")
    final = instructions[max(n for n, i in enumerate(instructions) if i["instruction"] == "FROM") :]
    kinds = [i["instruction"] for i in final]
    assert "HEALTHCHECK" in kinds
    (user,) = [i["value"] for i in final if i["instruction"] == "USER"]
    assert user.split(":")[0] not in ("0", "root")
    assert any(i["value"].startswith("--from=builder") for i in final if i["instruction"] == "COPY")
    assert {"4318", "4317"} <= set(
        " ".join(i["value"] for i in final if i["instruction"] == "EXPOSE").split()
    )
    healthcheck = next(i["value"] for i in final if i["instruction"] == "HEALTHCHECK")
    assert "/healthz" in healthcheck


def test_dockerfile_copies_only_paths_that_exist() -> None:
    parser = DockerfileParser(str(COMPOSE_DIR / "Dockerfile"))
    for instruction in parser.structure:
        if instruction["instruction"] == "COPY" and "--from" not in instruction["value"]:
            *sources, _dest = instruction["value"].split()
            for source in sources:
                assert (ROOT / source).exists(), source


def test_otel_collector_pipeline_forwards_to_tracerail_with_a_persistent_queue() -> None:
    (pipeline,) = OTEL["service"]["pipelines"].values()
    assert pipeline["receivers"] == ["otlp"]
    assert "batch" in pipeline["processors"]
    (exporter_name,) = pipeline["exporters"]
    assert exporter_name.split("/")[0] == "otlphttp"
    for kind in ("receivers", "processors", "exporters"):
        for name in pipeline[kind]:
            assert name in OTEL[kind], name
    exporter = OTEL["exporters"][exporter_name]
    queue = exporter["sending_queue"]
    assert queue["enabled"] is True
    assert queue["storage"] in OTEL["extensions"]
    assert queue["storage"].startswith("file_storage")
    assert queue["storage"] in OTEL["service"]["extensions"]
    assert exporter["retry_on_failure"]["enabled"] is True
    assert set(OTEL["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
