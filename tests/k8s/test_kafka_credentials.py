"""Each service reaches Kafka as itself, checked statically in every overlay (issue 14): the
rendered environment makes a KafkaSettings that validates for SASL_SSL on Strimzi's TLS
listener, as the service's own KafkaUser, its password and the cluster CA read from the
Secrets Strimzi writes, mounted read-only so that the kubelet's updates reach the files."""

from __future__ import annotations

import os
from pathlib import PurePosixPath

import pytest

from ferry.kafka_acls import AUDITOR, principal
from ferry.kafka_client import KafkaSettings
from tests.k8s.console_scripts import SERVICE_SCRIPTS, load_settings, service_package, spec_of
from tests.k8s.rendered import Obj, Rendered, container_env, pod_spec, workloads

BOOTSTRAP = "ferry-kafka-bootstrap:9093"
"""Strimzi's Service for the bootstrap of the Kafka `ferry`, its TLS listener's port."""
CLUSTER_CA = "ferry-cluster-ca-cert"
"""The Secret Strimzi keeps the cluster CA's certificate in (key `ca.crt`)."""


def secret_file(workload: Obj, container: Obj, path: str) -> tuple[str, str]:
    """(Secret, key) that the file at `path` in `container` is: from a read-only mount of a
    whole volume (not subPath, which the kubelet never updates) of a required Secret."""
    file = PurePosixPath(path)
    [mount] = [m for m in container["volumeMounts"] if file.parent == PurePosixPath(m["mountPath"])]
    assert mount.get("readOnly") is True, mount
    assert not {"subPath", "subPathExpr"} & mount.keys(), mount
    [volume] = [v for v in pod_spec(workload)["volumes"] if v["name"] == mount["name"]]
    assert "secret" in volume, f"{path} is not from a Secret: {volume}"
    secret = volume["secret"]
    assert not secret.get("optional", False), f"{path}: the pod must not start without it"
    keys = {item["path"]: item["key"] for item in secret.get("items", [])}
    key = keys.get(file.name, file.name if not keys else None)
    assert key is not None, f"{path}: Secret {secret['secretName']} has no item {file.name}"
    return secret["secretName"], key


def kafka_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> KafkaSettings:
    """The Kafka settings a process with exactly `env` reads (and validates)."""
    with monkeypatch.context() as m:
        for name in [n for n in os.environ if n.startswith("FERRY_")]:
            m.delenv(name)
        for name, value in env.items():
            m.setenv(name, value)
        return KafkaSettings()


def test_each_service_reaches_kafka_as_its_own_user_over_tls(
    rendered: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = {u["metadata"]["name"]: u["spec"] for u in rendered.of_kind("KafkaUser")}
    seen = set()
    for where, workload, _, container in workloads(rendered):
        script = container["command"][0]
        if workload["kind"] != "Deployment" or not service_package(script):
            continue
        seen.add(script)
        user = principal(spec_of(script).name)
        env = container_env(rendered, container)
        # The service's own settings model, which inherits KafkaSettings and its checks.
        settings = load_settings(script, env, monkeypatch)
        assert isinstance(settings, KafkaSettings)
        assert settings.kafka_bootstrap_servers == BOOTSTRAP, where
        assert settings.kafka_security_protocol == "SASL_SSL", where
        assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512", where
        assert settings.kafka_username == user, f"{where}: Kafka user {settings.kafka_username}"
        assert users[user]["authentication"]["type"] == "scram-sha-512", f"{where}: {user}"
        assert (settings.kafka_cert_file, settings.kafka_key_file) == (None, None), where

        assert settings.kafka_password_file is not None, where
        assert settings.kafka_ca_file is not None, where
        password = secret_file(workload, container, str(settings.kafka_password_file))
        assert password == (user, "password"), f"{where}: the password is {password}"
        ca = secret_file(workload, container, str(settings.kafka_ca_file))
        assert ca == (CLUSTER_CA, "ca.crt"), f"{where}: the CA is {ca}"

        # No other principal's password in this pod.
        others = {principal(spec_of(s).name) for s in SERVICE_SCRIPTS} - {user} | {AUDITOR}
        secrets = {
            v["secret"]["secretName"] for v in pod_spec(workload)["volumes"] if "secret" in v
        }
        assert not secrets & others, f"{where}: mounts {secrets & others}"

        # Its NetworkPolicy lets it reach the listener (the bootstrap Service and brokers).
        policy = rendered.named("NetworkPolicy", workload["metadata"]["name"])
        egress = {p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}
        assert int(BOOTSTRAP.rsplit(":", 1)[1]) in egress, f"{where}: no egress to Kafka"
    assert seen == set(SERVICE_SCRIPTS), f"{rendered.overlay}: Deployments of {seen}"


def test_migrate_jobs_settings_validate_and_they_mount_no_kafka_password(
    rendered: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migrate Job builds its service's settings (so they must validate) but never
    connects to Kafka: it holds no Kafka password."""
    users = {u["metadata"]["name"] for u in rendered.of_kind("KafkaUser")}
    jobs = 0
    for where, workload, pod, container in workloads(rendered):
        script = container["command"][0]
        if workload["kind"] != "Job" or not service_package(script):
            continue
        jobs += 1
        settings = kafka_settings(container_env(rendered, container), monkeypatch)
        assert settings.kafka_username == principal(spec_of(script).name), where
        secrets = {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
        assert not secrets & users, f"{where}: mounts {secrets & users}"
    assert jobs == len(SERVICE_SCRIPTS)
