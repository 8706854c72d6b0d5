"""Kubernetes manifests in ``deploy/k8s``.

No cluster runs here, so what can be checked is syntax, schema validity and consistency.
Built-in kinds are validated in strict mode (unknown fields are errors) against the Kubernetes
OpenAPI schemas shipped in the ``kubernetes-validate`` package. The Altinity operator's CRDs
(``ClickHouseInstallation``, ``ClickHouseKeeperInstallation``) have no schema in any package
available offline, so their structure is checked field by field below instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tracerail.collector.api.app import create_app
from tracerail.collector.settings import Settings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
K8S_VERSION = "1.30.0"
CRD_KINDS = {"ClickHouseInstallation", "ClickHouseKeeperInstallation"}


def _documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


DOCS = _documents()


def _one(kind: str) -> dict[str, Any]:
    (doc,) = [d for d in DOCS if d["kind"] == kind]
    return doc


def test_every_required_kind_is_present() -> None:
    assert {d["kind"] for d in DOCS} == {
        "ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler",
        "PodDisruptionBudget", "Job", *CRD_KINDS,
    }  # fmt: skip


@pytest.mark.parametrize(
    "doc",
    [d for d in DOCS if d["kind"] not in CRD_KINDS],
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_builtin_kinds_are_valid_against_the_kubernetes_schema(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_strict_validation_rejects_an_unknown_field() -> None:
    """The validator really checks: a misspelt field in the Deployment fails."""
    broken = yaml.safe_load(yaml.safe_dump(_one("Deployment")))
    broken["spec"]["replica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_clickhouse_installation_is_two_shards_by_two_replicas_named_like_the_config() -> None:
    chi = _one("ClickHouseInstallation")
    assert chi["apiVersion"] == "clickhouse.altinity.com/v1"
    (cluster,) = chi["spec"]["configuration"]["clusters"]
    assert cluster["layout"] == {"shardsCount": 2, "replicasCount": 2}
    assert cluster["name"] == _one("ConfigMap")["data"]["TRACERAIL_CLUSTER"]
    keeper = _one("ClickHouseKeeperInstallation")
    (node,) = chi["spec"]["configuration"]["zookeeper"]["nodes"]
    assert node == {"host": f"keeper-{keeper['metadata']['name']}", "port": 2181}
    templates = chi["spec"]["templates"]
    defaults = chi["spec"]["defaults"]["templates"]
    assert defaults["podTemplate"] in {t["name"] for t in templates["podTemplates"]}
    claims = {t["name"] for t in templates["volumeClaimTemplates"]}
    assert defaults["dataVolumeClaimTemplate"] in claims
    password = chi["spec"]["configuration"]["users"]["tracerail/k8s_secret_password"]
    secret_name, key = password.split("/")
    assert secret_name == _one("Secret")["metadata"]["name"]
    assert key in _one("Secret")["stringData"]


def test_keeper_has_three_nodes_with_storage() -> None:
    chk = _one("ClickHouseKeeperInstallation")
    assert chk["apiVersion"] == "clickhouse-keeper.altinity.com/v1"
    (cluster,) = chk["spec"]["configuration"]["clusters"]
    assert cluster["layout"] == {"replicasCount": 3}
    defaults = chk["spec"]["defaults"]["templates"]
    claims = {t["name"] for t in chk["spec"]["templates"]["volumeClaimTemplates"]}
    assert defaults["dataVolumeClaimTemplate"] in claims


def _pod_spec(kind: str) -> dict[str, Any]:
    spec: dict[str, Any] = _one(kind)["spec"]["template"]["spec"]
    return spec


def test_collector_and_job_read_settings_from_the_configmap_and_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {**_one("ConfigMap")["data"], **_one("Secret")["stringData"]}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.cluster == "tracerail"
    assert (settings.port, settings.grpc_port, settings.migrate_on_start) == (4318, 4317, False)
    assert settings.storage.startswith("http://")
    names = {_one("ConfigMap")["metadata"]["name"], _one("Secret")["metadata"]["name"]}
    for kind in ("Deployment", "Job"):
        (container,) = _pod_spec(kind)["containers"]
        refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
        assert refs == names
    assert _pod_spec("Job")["containers"][0]["args"] == ["migrate"]


def test_service_hpa_and_pdb_point_at_the_deployment() -> None:
    deployment = _one("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    (container,) = _pod_spec("Deployment")["containers"]
    port_names = {p["name"] for p in container["ports"]}
    service = _one("Service")
    assert service["spec"]["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in service["spec"]["ports"]} == port_names
    assert _one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    target = _one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])


def test_probes_hit_routes_the_app_serves_and_pods_run_as_non_root() -> None:
    routes = set(create_app(Settings()).openapi()["paths"])
    (container,) = _pod_spec("Deployment")["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] in routes
    assert container["livenessProbe"]["httpGet"]["path"] in routes
    for kind in ("Deployment", "Job"):
        assert _pod_spec(kind)["securityContext"]["runAsNonRoot"] is True
