"""Kafka itself refuses: no client gets in without credentials, and each service's user may
do exactly what its ServiceSpec says (ferry.kafka_acls), on the real broker with its ACLs.

Before, anything that reached Kafka could publish a `ReleaseApproved` for any release (#14);
the signatures stop a forged decision from being acted on (test_signed_decisions), these
stop it from being written at all.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from aiokafka.helpers import create_ssl_context
from aiokafka.protocol.admin import DescribeAclsRequest

from ferry.devtls import DevCA
from ferry.kafka_acls import AUDITOR, ferry_specs, principal, users
from ferry.kafka_client import KafkaSettings
from tests.support.infra import Infra

pytestmark = pytest.mark.timeout(120)

# Short, so a refused client fails in seconds rather than retrying for 40.
REFUSED_WITHIN = {"request_timeout_ms": 4000}
OPERATIONS = {3: "Read", 4: "Write", 8: "Describe", 12: "IdempotentWrite"}
RESOURCES = {2: "topic", 3: "group", 4: "cluster", 5: "transactional_id"}


@pytest.fixture
def secured(infra: Infra) -> Path:
    """The users' passwords of the project's own broker; the tests need its ACLs."""
    if infra.kafka_users is None:
        pytest.skip("the broker (testcontainers) has no users or ACLs; deploy/local's has")
    return infra.kafka_users


@asynccontextmanager
async def producer(**options: Any) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(**options, acks="all", enable_idempotence=True, **REFUSED_WITHIN)
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def assert_cannot_connect(**options: Any) -> None:
    for client in (
        AIOKafkaProducer(**options, **REFUSED_WITHIN),
        AIOKafkaConsumer("release.events", **options, **REFUSED_WITHIN),
    ):
        with pytest.raises(KafkaConnectionError):
            await asyncio.wait_for(client.start(), 30)
        await client.stop()


async def test_a_client_without_credentials_cannot_produce_or_consume(
    infra: Infra, secured: Path, tmp_path: Path
) -> None:
    bootstrap = infra.kafka.kafka_bootstrap_servers
    # Plain TCP to the SASL_SSL listener.
    await assert_cannot_connect(bootstrap_servers=bootstrap)
    # TLS, trusting the broker, but no SASL.
    assert infra.kafka.kafka_ca_file is not None
    ssl_context = create_ssl_context(cafile=infra.kafka.kafka_ca_file)
    await assert_cannot_connect(
        bootstrap_servers=bootstrap, security_protocol="SSL", ssl_context=ssl_context
    )
    # A service's user with a guessed password.
    wrong = tmp_path / "wrong.password"
    wrong.write_text("hunter2")
    guessed = infra.kafka.model_copy(
        update={"kafka_username": principal("release-svc"), "kafka_password_file": wrong}
    )
    await assert_cannot_connect(**guessed.kafka_options())
    # A user Ferry does not have.
    stranger = infra.kafka.model_copy(
        update={"kafka_username": "mallory", "kafka_password_file": wrong}
    )
    await assert_cannot_connect(**stranger.kafka_options())


async def test_dml_svc_cannot_write_release_events_but_writes_its_own(
    infra: Infra, secured: Path, topic_prefix: str
) -> None:
    dml = infra.kafka_as(principal("dml-svc")).kafka_options()
    async with producer(**dml) as client:
        with pytest.raises(TopicAuthorizationFailedError):
            await client.send_and_wait(f"{topic_prefix}release.events", b"{}", key=b"forged")
        sent = await client.send_and_wait(f"{topic_prefix}dml.events", b"{}", key=b"own")
    assert sent.offset >= 0
    # Nor may it write another stack's topics: the rights are per name.
    async with producer(**dml) as client:
        with pytest.raises(TopicAuthorizationFailedError):
            await client.send_and_wait("t00000000-dml.events", b"{}", key=b"x")


async def test_a_service_reads_only_what_it_consumes_and_only_in_its_own_group(
    infra: Infra, secured: Path, topic_prefix: str
) -> None:
    dml = infra.kafka_as(principal("dml-svc")).kafka_options()

    async def first_poll(topic: str, group: str | None) -> None:
        consumer = AIOKafkaConsumer(
            f"{topic_prefix}{topic}",
            **dml,
            group_id=group,
            auto_offset_reset="earliest",
            **REFUSED_WITHIN,
        )
        try:
            await consumer.start()
            await consumer.getmany(timeout_ms=2000)
        finally:
            await consumer.stop()

    await first_poll("release.events", f"{topic_prefix}dml-svc")  # what it does
    with pytest.raises(GroupAuthorizationFailedError):
        await first_poll("release.events", f"{topic_prefix}release-svc")
    with pytest.raises(TopicAuthorizationFailedError):
        await first_poll("deploy.events", f"{topic_prefix}dml-svc")


async def test_the_auditor_reads_every_service_topic_and_writes_none(
    infra: Infra, secured: Path, topic_prefix: str
) -> None:
    auditor = infra.kafka_as(AUDITOR).kafka_options()
    consumer = AIOKafkaConsumer(
        *(f"{topic_prefix}{s}.events" for s in ("release", "dml", "deploy", "els")),
        **auditor,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        await consumer.getmany(timeout_ms=1000)
    finally:
        await consumer.stop()
    client = AIOKafkaProducer(**auditor, **REFUSED_WITHIN)
    await client.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await client.send_and_wait(f"{topic_prefix}release.events", b"{}")
    finally:
        await client.stop()


async def test_the_broker_holds_exactly_the_table_s_acls(
    infra: Infra, secured: Path, topic_prefix: str
) -> None:
    expected = {
        (user.name, acl.resource, acl.name, op)
        for user in users(ferry_specs(), topic_prefix)
        for acl in user.acls
        for op in acl.operations
    }
    found = set()
    for user in users(ferry_specs(), topic_prefix):
        found |= {
            row
            for row in await described(infra.kafka, user.name)
            if row[2] is None or row[2].startswith(topic_prefix)
        }
    assert found == expected


async def described(admin: KafkaSettings, user: str) -> set[tuple[str, str, str | None, str]]:
    """(user, resource, name, operation) of each ACL the broker holds for `user`."""
    client = AIOKafkaClient(**admin.kafka_options())
    try:
        await client.bootstrap()
        # Any resource, any name, any pattern; this principal, any host, operation, permission.
        reply = await client.send(
            client.get_random_node(), DescribeAclsRequest(1, None, 1, f"User:{user}", None, 1, 1)
        )
    finally:
        await client.close()
    assert reply.error_code == 0, reply
    return {
        (user, RESOURCES[kind], None if kind == 4 else name, OPERATIONS[operation])
        for kind, name, _pattern, acls in reply.resources
        for _principal, _host, operation, _permission in acls
    }


async def test_mutual_tls_maps_a_client_certificate_to_its_service(
    infra: Infra, secured: Path, topic_prefix: str, tmp_path: Path
) -> None:
    port = os.environ.get("FERRY_KAFKA_MTLS_PORT")
    if not port or infra.kafka.kafka_ca_file is None:
        pytest.skip("FERRY_KAFKA_MTLS_PORT is not set: not deploy/local's broker")
    ca = DevCA(infra.kafka.kafka_ca_file.parent)
    release = ca.client(principal("release-svc"))
    as_release = KafkaSettings(
        kafka_bootstrap_servers=f"127.0.0.1:{port}",
        kafka_security_protocol="SSL",
        kafka_ca_file=infra.kafka.kafka_ca_file,
        kafka_cert_file=release.cert_file,
        kafka_key_file=release.key_file,
    )
    async with producer(**as_release.kafka_options()) as client:
        await client.send_and_wait(f"{topic_prefix}release.events", b"{}", key=b"own")
        with pytest.raises(TopicAuthorizationFailedError):
            await client.send_and_wait(f"{topic_prefix}dml.events", b"{}", key=b"not-own")
    # A certificate from a CA the broker does not trust gets nowhere.
    stranger = DevCA(tmp_path / "other-ca").client(principal("release-svc"))
    await assert_cannot_connect(
        bootstrap_servers=f"127.0.0.1:{port}",
        security_protocol="SSL",
        ssl_context=create_ssl_context(
            cafile=infra.kafka.kafka_ca_file,
            certfile=stranger.cert_file,
            keyfile=stranger.key_file,
        ),
    )
