"""The Kubernetes deployment (deploy/kubernetes/) is valid as far as it can be checked without a
cluster or helm: the committed manifests pass the Kubernetes API schemas (kubernetes-validate),
the Secret template holds no secret, the data volume is ReadWriteMany, the run launcher config the
chart renders from the values passes dagster-k8s's own K8sRunLauncher schema, and the run Job
dagster-k8s builds from it (with the shared volume and the API-key Secret) is a valid Job."""

from pathlib import Path

import kubernetes
import kubernetes_validate
import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster_k8s import K8sRunLauncher
from dagster_k8s.job import (
    DagsterK8sJobConfig,
    UserDefinedDagsterK8sConfig,
    construct_dagster_k8s_job,
)

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.33"
DATA_MOUNT = {"name": "medpipeline-data", "mountPath": "/data"}


def _values() -> dict:
    return yaml.safe_load((DEPLOY / "values.yaml").read_text())


def _manifests(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text()) if doc]


@pytest.mark.parametrize("name", ["data-volume.yaml", "secrets.example.yaml"])
def test_committed_manifests_pass_the_kubernetes_schemas(name):
    for manifest in _manifests(name):
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_secret_template_holds_no_secret_and_the_volume_is_shared():
    secrets = _manifests("secrets.example.yaml")
    assert {secret["kind"] for secret in secrets} == {"Secret"}
    assert all(value == "" for secret in secrets for value in secret["stringData"].values())
    (claim,) = _manifests("data-volume.yaml")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    # every secret the values name is one the template creates
    names = {secret["metadata"]["name"] for secret in secrets}
    values = _values()
    deployment = values["dagster-user-deployments"]["deployments"][0]
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert {ref["name"] for ref in deployment["envSecrets"] + launcher["envSecrets"]} <= names
    assert values["global"]["postgresqlSecretName"] in names


def _run_launcher_config(values: dict) -> dict:
    """The run_launcher config the chart writes into the instance's dagster.yaml (its
    `dagsterYaml.runLauncher.k8s` template: camelCase values to the launcher's fields)."""
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    k8s_config = launcher["runK8sConfig"]
    return {
        "dagster_home": "/opt/dagster/dagster_home",
        "instance_config_map": "medpipeline-dagster-instance",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
        "service_account_name": "medpipeline-dagster",
        "image_pull_policy": launcher["imagePullPolicy"],
        "load_incluster_config": launcher["loadInclusterConfig"],
        "env_config_maps": [ref["name"] for ref in launcher["envConfigMaps"]],
        "env_secrets": [ref["name"] for ref in launcher["envSecrets"]],
        "env_vars": launcher["envVars"],
        "volumes": launcher["volumes"],
        "volume_mounts": launcher["volumeMounts"],
        "run_k8s_config": {
            "container_config": k8s_config["containerConfig"],
            "job_spec_config": k8s_config["jobSpecConfig"],
        },
    }


def test_the_run_launcher_config_passes_dagster_k8s_schema():
    config = _run_launcher_config(_values())
    result = process_config(resolve_to_config_type(K8sRunLauncher.config_type()), config)
    assert result.success, result.errors
    assert config["volume_mounts"] == [DATA_MOUNT]


def test_the_run_job_dagster_k8s_builds_is_a_valid_job_with_the_data_volume_and_keys():
    values = _values()
    config = _run_launcher_config(values)
    image = values["dagster-user-deployments"]["deployments"][0]["image"]
    job_config = DagsterK8sJobConfig(
        job_image=f"{image['repository']}:{image['tag']}",
        dagster_home=config["dagster_home"],
        image_pull_policy=config["image_pull_policy"],
        service_account_name=config["service_account_name"],
        instance_config_map=config["instance_config_map"],
        postgres_password_secret=config["postgres_password_secret"],
        env_config_maps=config["env_config_maps"],
        env_secrets=config["env_secrets"],
        env_vars=config["env_vars"],
        volume_mounts=config["volume_mounts"],
        volumes=config["volumes"],
    )
    job = construct_dagster_k8s_job(
        job_config,
        args=["dagster", "api", "execute_run", "{}"],
        job_name="dagster-run-0123456789abcdef",
        user_defined_k8s_config=UserDefinedDagsterK8sConfig.from_dict(config["run_k8s_config"]),
    )
    manifest = kubernetes.client.ApiClient().sanitize_for_serialization(job)
    manifest.update(apiVersion="batch/v1", kind="Job")
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    assert DATA_MOUNT in container["volumeMounts"]
    assert {"secretRef": {"name": "medpipeline-api-keys"}} in container["envFrom"]
    assert {"name": "MEDPIPELINE_DATA_DIR", "value": "/data"} in container["env"]
    claims = [
        volume["persistentVolumeClaim"]["claimName"]
        for volume in manifest["spec"]["template"]["spec"]["volumes"]
        if "persistentVolumeClaim" in volume
    ]
    assert claims == [_manifests("data-volume.yaml")[0]["metadata"]["name"]]
