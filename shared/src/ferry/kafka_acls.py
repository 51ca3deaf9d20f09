"""Who may do what on Kafka: one principal per service, allowed exactly what its
`ServiceSpec` says it publishes, consumes and reads, and an auditor that reads the log.

The one table both the local broker's ACLs (`deploy/local/kafka_admin.py access`) and the
Strimzi `KafkaUser`s (`deploy/k8s/base/kafka/users.yaml`, rendered by `ferry kafka-users`)
come from; tests check each against it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ferry.kafka import SERVICE_TOPICS, relay_transactional_id
from ferry.service import ServiceSpec

SERVICES = ("release-svc", "dml-svc", "deploy-svc", "els-svc")
AUDITOR = "ferry-auditor"
"""Reads the service topics from their beginning without a consumer group: `ferry audit`."""

Resource = Literal["topic", "group", "cluster", "transactional_id"]
Operation = Literal["Read", "Write", "Describe", "IdempotentWrite"]


@dataclass(frozen=True)
class Acl:
    """Operations allowed on one resource (named literally; a cluster has no name)."""

    resource: Resource
    name: str | None
    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class KafkaUser:
    """A principal (`User:<name>`) and everything it is allowed."""

    name: str
    acls: tuple[Acl, ...]
    comment: str


def principal(service: str) -> str:
    """The Kafka user of a service: `ferry-release-svc` for release-svc."""
    return f"ferry-{service}"


def service_user(spec: ServiceSpec, prefix: str = "") -> KafkaUser:
    """What `spec`'s service does on Kafka, its topics' and groups' names after `prefix`."""
    read = [*spec.consumes, *(t for topics in spec.projections.values() for t in topics)]
    read += spec.reads
    groups = [spec.name] if spec.consumes else []
    groups += [f"{spec.name}.{name}" for name in spec.projections]
    acls: list[Acl] = []
    if spec.publishes:
        # Read too: the outbox relay reads its topic's last records after a crash, so as
        # to send nothing twice (`ferry.outbox`).
        acls.append(Acl("topic", prefix + spec.publishes, ("Write", "Read", "Describe")))
        relay = relay_transactional_id(spec.name, prefix)
        acls.append(Acl("transactional_id", relay, ("Write", "Describe")))
    acls += [
        Acl("topic", prefix + topic, ("Read", "Describe"))
        for topic in _unique(read)
        if topic != spec.publishes
    ]
    acls += [Acl("group", prefix + group, ("Read",)) for group in groups]
    if spec.publishes:
        # Idempotent producing; brokers before Kafka 2.8 ask for it on the cluster.
        acls.append(Acl("cluster", None, ("IdempotentWrite",)))
    return KafkaUser(principal(spec.name), tuple(acls), _comment(spec))


def auditor(prefix: str = "") -> KafkaUser:
    return KafkaUser(
        AUDITOR,
        tuple(Acl("topic", prefix + t, ("Read", "Describe")) for t in SERVICE_TOPICS),
        "`ferry audit verify` and `ferry audit trail`: reads the services' topics, no group.",
    )


def users(specs: Iterable[ServiceSpec], prefix: str = "") -> list[KafkaUser]:
    """Every Ferry principal: the services' in `specs`, then the auditor."""
    return [*(service_user(s, prefix) for s in specs), auditor(prefix)]


def ferry_specs() -> list[ServiceSpec]:
    """The four services' specs, with default settings (their topics do not depend on any)."""
    return [importlib.import_module(f"{name.replace('-', '_')}.main").spec() for name in SERVICES]


def strimzi_user(user: KafkaUser, cluster: str = "ferry") -> dict[str, Any]:
    """`user` as a Strimzi `KafkaUser` (SCRAM-SHA-512; Strimzi keeps its password in a
    Secret of the same name)."""
    return {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaUser",
        "metadata": {"name": user.name, "labels": {"strimzi.io/cluster": cluster}},
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {
                "type": "simple",
                "acls": [_strimzi_acl(acl) for acl in user.acls],
            },
        },
    }


def _strimzi_acl(acl: Acl) -> dict[str, Any]:
    kind = "transactionalId" if acl.resource == "transactional_id" else acl.resource
    resource: dict[str, Any] = {"type": kind}
    if acl.name is not None:
        resource |= {"name": acl.name, "patternType": "literal"}
    return {"resource": resource, "operations": list(acl.operations)}


def _comment(spec: ServiceSpec) -> str:
    parts = [f"publishes {spec.publishes}"] if spec.publishes else []
    if spec.consumes:
        parts.append(f"consumes {', '.join(spec.consumes)} as group {spec.name}")
    parts += [
        f"keeps {name} from {', '.join(topics)} as group {spec.name}.{name}"
        for name, topics in spec.projections.items()
    ]
    if spec.reads:
        parts.append(f"reads {', '.join(spec.reads)} without a group (the event feed)")
    return f"{spec.name}: " + "; ".join(parts) + "."


def _unique(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))
