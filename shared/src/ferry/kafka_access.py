"""Applying `ferry.kafka_acls`' table to a broker: SCRAM users and their ACLs, sent by an
administrator (a super user) with Kafka's own admin requests.

aiokafka's admin client has no call for these, and its request classes carry one ACL each,
so the few request shapes needed are declared here.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.protocol.admin import CreateAclsRequest_v1, DeleteAclsRequest_v1, DescribeAclsRequest
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from ferry.kafka_acls import Acl, KafkaUser
from ferry.kafka_client import KafkaSettings, uninterrupted

# Kafka's codes (org.apache.kafka.common.acl / resource).
_RESOURCE = {"topic": 2, "group": 3, "cluster": 4, "transactional_id": 5}
_OPERATION = {"Read": 3, "Write": 4, "Describe": 8, "IdempotentWrite": 12}
_LITERAL = 3
_ALLOW = 3
_CLUSTER_NAME = "kafka-cluster"
ACLS_APPLIED_WITHIN = 30.0
"""Seconds `grant` waits for every broker to hold the ACLs it created."""
_SCRAM_SHA_512 = 2
_SCRAM_ITERATIONS = 4096
"""Kafka's minimum. The iterations slow a guess at a weak password; these are random
(`local_passwords`: 192 bits), and every connection computes them on both ends, which in
the test suite's thousands of connections was an eighth of the tests' CPU at 8192."""


class AccessSetupError(RuntimeError):
    """The broker refused a user or an ACL."""


class _CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc]
    API_KEY = 30

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(self._rows)


class _DeleteAcls(Request[DeleteAclsRequest_v1]):  # type: ignore[misc]
    """One exact filter per binding (aiokafka's request carries one filter)."""

    API_KEY = 31

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class(self._rows)


class _AlterScramResponse(Response):  # type: ignore[misc]  # aiokafka declares it untyped
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScramStruct(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = _AlterScramResponse
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(
                ("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)
            ),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScram(Request[_AlterScramStruct]):  # type: ignore[misc]
    API_KEY = 51

    def __init__(self, passwords: Mapping[str, str]) -> None:
        self._passwords = passwords

    def build(self, request_struct_class: type[_AlterScramStruct]) -> _AlterScramStruct:
        rows: list[tuple[Any, ...]] = []
        for user, password in self._passwords.items():
            # The broker keeps only the salted password (RFC 5802), computed by the client.
            salt = os.urandom(32)
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _SCRAM_ITERATIONS)
            rows.append((user, _SCRAM_SHA_512, _SCRAM_ITERATIONS, salt, salted, {}))
        return request_struct_class([], rows, {})


async def set_passwords(admin: KafkaSettings, passwords: Mapping[str, str]) -> None:
    """Create or replace each user's SCRAM-SHA-512 credential."""
    if not passwords:
        return
    reply = await _send(admin, _AlterScram(passwords))
    for user, code, message, _tags in reply.results:
        if code:
            raise AccessSetupError(f"cannot set the password of {user}: error {code} {message}")


async def grant(admin: KafkaSettings, users: Iterable[KafkaUser]) -> None:
    """Allow each user what its ACLs say (idempotent: a binding made twice is one)."""
    rows = _bindings(users)
    if not rows:
        return
    reply = await _send(admin, _CreateAcls(rows))
    for row, (code, message) in zip(rows, reply.creation_responses, strict=True):
        if code:
            raise AccessSetupError(f"cannot create the ACL {row}: error {code} {message}")
    await _enforced(admin, rows)


async def revoke(admin: KafkaSettings, users: Iterable[KafkaUser]) -> None:
    """Withdraw what `grant` allowed these users (a binding already gone is no error)."""
    rows = _bindings(users)
    if not rows:
        return
    reply = await _send(admin, _DeleteAcls(rows))
    for row, (code, message, _deleted) in zip(rows, reply.filter_responses, strict=True):
        if code:
            raise AccessSetupError(f"cannot delete the ACL {row}: error {code} {message}")


async def _enforced(admin: KafkaSettings, rows: list[tuple[Any, ...]]) -> None:
    """Return once every broker holds `rows`. The controller answers CreateAcls as soon as it
    has them; each broker's authorizer applies them a moment later, and a client that came
    at once could be refused what it was just allowed."""
    wanted: dict[str, set[tuple[Any, ...]]] = {}
    for kind, name, _pattern, principal, _host, operation, _permission in rows:
        wanted.setdefault(principal, set()).add((kind, name, operation))
    client = AIOKafkaClient(**admin.kafka_options())
    try:
        await uninterrupted(client.bootstrap())
        deadline = asyncio.get_running_loop().time() + ACLS_APPLIED_WITHIN
        for broker in client.cluster.brokers():
            for principal, bindings in wanted.items():
                while not bindings <= await _held(client, broker.nodeId, principal):
                    if asyncio.get_running_loop().time() > deadline:
                        raise AccessSetupError(
                            f"broker {broker.nodeId} does not hold {principal}'s ACLs "
                            f"{ACLS_APPLIED_WITHIN} s after they were created"
                        )
                    await asyncio.sleep(0.05)
    finally:
        await uninterrupted(client.close())


async def _held(client: AIOKafkaClient, node: int, principal: str) -> set[tuple[Any, ...]]:
    """(resource type, name, operation) of each ACL broker `node` holds for `principal`."""
    # Any resource, name and pattern; this principal; any host, operation and permission.
    reply = await client.send(node, DescribeAclsRequest(1, None, 1, principal, None, 1, 1))
    if reply.error_code:
        raise AccessSetupError(f"broker {node} cannot describe ACLs: error {reply.error_code}")
    return {
        (kind, name, operation)
        for kind, name, _pattern, acls in reply.resources
        for _principal, _host, operation, _permission in acls
    }


def local_passwords(folder: Path, names: Sequence[str]) -> dict[str, str]:
    """A password per user, each in `<folder>/<name>.password` (mode 600), made on first use."""
    folder.mkdir(parents=True, exist_ok=True)
    passwords = {}
    for name in names:
        path = password_file(folder, name)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(24))
        passwords[name] = path.read_text().strip()
    return passwords


def password_file(folder: Path, name: str) -> Path:
    return folder / f"{name}.password"


def _bindings(users: Iterable[KafkaUser]) -> list[tuple[Any, ...]]:
    """One (resource, pattern, principal, host, operation, permission) row per operation."""
    return [
        (*_pattern(acl), f"User:{user.name}", "*", _OPERATION[op], _ALLOW)
        for user in users
        for acl in user.acls
        for op in acl.operations
    ]


def _pattern(acl: Acl) -> tuple[int, str, int]:
    return _RESOURCE[acl.resource], acl.name or _CLUSTER_NAME, _LITERAL


async def _send(admin: KafkaSettings, request: Request[Any]) -> Any:
    client = AIOKafkaClient(**admin.kafka_options())
    try:
        await uninterrupted(client.bootstrap())
        return await client.send(client.get_random_node(), request)
    finally:
        await uninterrupted(client.close())
