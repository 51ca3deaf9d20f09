"""The real Kafka and PostgreSQL the integration and end-to-end tests run against.

`make test` starts them with deploy/local/up.sh and exports FERRY_DATABASE_URL and
FERRY_KAFKA_BOOTSTRAP_SERVERS. Where those are unset but a Docker engine answers,
testcontainers starts them instead. Neither → the run fails, saying how to fix it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from ferry.audit.chain import with_hash
from ferry.devauth import ISSUER, DevIssuer
from ferry.envelope import Envelope
from ferry.eventsigning import OWNERS, EventSigner, generate_pem
from ferry.kafka import INBOUND_TOPICS, SERVICE_TOPICS
from ferry.kafka_access import grant, password_file, revoke
from ferry.kafka_acls import KafkaUser, ferry_specs, principal, users
from ferry.kafka_admin import ensure_topics
from ferry.kafka_client import KafkaSettings, uninterrupted
from ferry.service import ServiceSpec
from tests.support import changetool

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("release-svc", "dml-svc", "deploy-svc", "els-svc")


@dataclass(frozen=True)
class SigningKeys:
    """A test signing key per service (`ferry.eventsigning`), each in a PEM file."""

    files: dict[str, Path]
    signers: dict[str, EventSigner]

    @classmethod
    def made_in(cls, folder: Path) -> SigningKeys:
        files, signers = {}, {}
        for service in SERVICES:
            pem = generate_pem()
            files[service] = folder / f"{service}-events.pem"
            files[service].write_bytes(pem)
            signers[service] = EventSigner.from_pem(pem)
        return cls(files, signers)

    def trusted(self) -> dict[str, list[str]]:
        """`FERRY_EVENT_TRUSTED_KEYS`: every service's key."""
        return {service: [signer.public_key] for service, signer in self.signers.items()}


@dataclass
class Infra:
    database_url: str
    kafka: KafkaSettings
    """The broker's administrator (a super user): what tests read and publish with."""
    kafka_users: Path | None
    """Where each Ferry principal's password is (deploy/local); None: the broker is open."""
    local: bool
    """True for the project's own local broker, which tests may stop and start."""
    issuer: DevIssuer
    """The token issuer the services under test trust."""
    keys: SigningKeys
    """The keys the services under test sign their events with, and trust."""
    kafka_brokers: int = 1
    """How many brokers the cluster has (deploy/local: FERRY_KAFKA_BROKERS, 1 or 3)."""

    def auth_settings(self) -> dict[str, str]:
        """The settings that make a service trust `issuer`."""
        return {"auth_issuer": ISSUER, "auth_jwks_file": str(self.issuer.jwks_file)}

    def auth_env(self) -> dict[str, str]:
        """The same, as environment variables for a service run as a process."""
        return {"FERRY_AUTH_ISSUER": ISSUER, "FERRY_AUTH_JWKS_FILE": str(self.issuer.jwks_file)}

    def signing_settings(self, service: str) -> dict[str, object]:
        """The settings that make `service` (e.g. "release-svc") sign with its test key
        and trust every service's."""
        return {
            "event_signing_key_file": self.keys.files[service],
            "event_trusted_keys": self.keys.trusted(),
            "change_tool_keys": changetool.keys_setting(),
        }

    def signing_env(self, service: str) -> dict[str, str]:
        """The same, as environment variables for a service run as a process."""
        return {
            "FERRY_EVENT_SIGNING_KEY_FILE": str(self.keys.files[service]),
            "FERRY_EVENT_TRUSTED_KEYS": json.dumps(self.keys.trusted()),
            "FERRY_CHANGE_TOOL_KEYS": json.dumps(changetool.keys_setting()),
        }

    def kafka_as(self, user: str) -> KafkaSettings:
        """The broker as `user` (e.g. "ferry-dml-svc", `ferry.kafka_acls`) reaches it."""
        if self.kafka_users is None:
            return self.kafka
        return self.kafka.model_copy(
            update={
                "kafka_username": user,
                "kafka_password_file": password_file(self.kafka_users, user),
            }
        )

    def kafka_settings(self, service: str) -> dict[str, object]:
        """The settings that make `service` (e.g. "release-svc") reach Kafka as itself."""
        return self.kafka_as(principal(service)).model_dump()

    def kafka_env(self, service: str) -> dict[str, str]:
        """The same as environment variables."""
        return self.user_env(principal(service))

    def user_env(self, user: str) -> dict[str, str]:
        """The environment variables that make a process reach Kafka as `user`."""
        kafka = self.kafka_as(user)
        return {
            f"FERRY_{name.upper()}": str(value)
            for name, value in kafka.model_dump().items()
            if value is not None
        }

    def as_owner(self, envelope: Envelope) -> Envelope:
        """`envelope` as the service owning its type would publish it: from that service,
        hashed afresh (a test may have changed it) and signed with its key."""
        owner = OWNERS.get(envelope.type)
        if owner is None:
            return with_hash(envelope)
        rehashed = with_hash(envelope.model_copy(update={"source": owner}))
        return self.keys.signers[owner].signed(rehashed)

    def stop_kafka(self) -> None:
        self._kafka("stop")

    def start_kafka(self) -> None:
        self._kafka("start")

    def _kafka(self, action: str) -> None:
        # Node 1's port: deploy/local numbers the other nodes' ports from it.
        port = self.kafka.kafka_bootstrap_servers.split(",")[0].rsplit(":", 1)[1]
        self._local("kafka.sh", action, FERRY_KAFKA_PORT=port)

    def kill_postgres(self) -> None:
        """An immediate shutdown, as a crash: every connection cut at once."""
        self._postgres("kill")

    def start_postgres(self) -> None:
        self._postgres("start")

    def _postgres(self, action: str) -> None:
        port = make_url(self.database_url).port
        self._local("postgres.sh", action, FERRY_PG_PORT=str(port))

    def _local(self, script: str, action: str, **env: str) -> None:
        if not self.local:
            raise RuntimeError("only the local stack (deploy/local) can be stopped by a test")
        if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
            raise RuntimeError(
                "tests run in parallel share this Kafka and PostgreSQL: mark a test that stops "
                "either @pytest.mark.exclusive (`make test` runs those alone, after the rest)"
            )
        # FERRY_FRESH=0: a restart must keep the server's data, as in an outage.
        environment = {**os.environ, **env, "FERRY_FRESH": "0"}
        subprocess.run(
            [str(REPO / "deploy/local" / script), action], check=True, env=environment, timeout=120
        )


async def prepare_topics(infra: Infra, *prefixes: str) -> None:
    """Ferry's topics under each prefix, and each service's rights on them and its groups.
    On a cluster, replicated as deploy/local replicates the stack's own: 3 copies, 2 in sync."""
    cluster = infra.kafka_brokers >= 3
    await ensure_topics(
        infra.kafka,
        [prefix + t for prefix in prefixes for t in SERVICE_TOPICS + INBOUND_TOPICS],
        replication=3 if cluster else 1,
        min_insync=2 if cluster else 1,
    )
    if infra.kafka_users is not None:
        await grant(infra.kafka, [u for prefix in prefixes for u in users(_specs(), prefix)])


async def forget_topics(infra: Infra, *prefixes: str) -> None:
    """Undo `prepare_topics`, and delete any other topic under the prefixes."""
    if infra.kafka_users is not None:
        await revoke(
            infra.kafka, [_own(u, prefix) for prefix in prefixes for u in users(_specs(), prefix)]
        )
    admin = AIOKafkaAdminClient(**infra.kafka.kafka_options(), request_timeout_ms=30000)
    try:
        await uninterrupted(admin.start())
        names = [t for t in await admin.list_topics() if t.startswith(prefixes)]
        if names:
            reply = await admin.delete_topics(names)
            failed = [(t, code) for t, code, *_ in reply.topic_error_codes if code]
            assert not failed, f"topics not deleted: {failed}"
    finally:
        await uninterrupted(admin.close())


def _own(user: KafkaUser, prefix: str) -> KafkaUser:
    """`user` with only its ACLs on names under `prefix`: the rest (the cluster's
    IdempotentWrite) every prefix and the stack itself share."""
    acls = tuple(a for a in user.acls if a.name is not None and a.name.startswith(prefix))
    return dataclasses.replace(user, acls=acls)


class TopicSets:
    """A fresh set of Ferry's topics for each test, made and deleted in batches.

    Kept, every test's topics and ACLs made the broker's answers grow: near the end of a run
    (7,000 topics, 75,000 ACLs) setting a test's up took 1.2 s, and every client's start
    decoded the whole topic list. Made and deleted one test at a time, they cost 0.35 s a
    test; a batch's one request each way costs a few milliseconds a test.
    """

    def __init__(self, infra: Infra, batch: int = 20) -> None:
        self.infra, self.batch = infra, batch
        self._ready: list[str] = []
        self._used: list[str] = []

    async def take(self) -> str:
        if not self._ready:
            fresh = [f"t{uuid.uuid4().hex[:8]}-" for _ in range(self.batch)]
            await prepare_topics(self.infra, *fresh)
            self._ready = fresh
        return self._ready.pop()

    async def done_with(self, prefix: str) -> None:
        self._used.append(prefix)
        if len(self._used) >= self.batch:
            await forget_topics(self.infra, *self._used)
            self._used = []

    async def close(self) -> None:
        """Delete what is left: the last batch's, used or not."""
        left, self._ready, self._used = self._ready + self._used, [], []
        if left:
            await forget_topics(self.infra, *left)


@functools.cache
def _specs() -> list[ServiceSpec]:
    return ferry_specs()


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception:
        return False
    return True


QUICK_STOP_FETCH_WAIT_MS = 100
"""The tests stop a service or two in every test: with the default half second, each of its
consumers' stops waited for the fetch the broker held (0.4 s a service, minutes a run)."""


@contextmanager
def infrastructure() -> Iterator[Infra]:
    url = os.environ.get("FERRY_DATABASE_URL")
    bootstrap = os.environ.get("FERRY_KAFKA_BOOTSTRAP_SERVERS")
    with tempfile.TemporaryDirectory(prefix="ferry-test-issuer-") as keys:
        issuer = DevIssuer(Path(keys))
        signing = SigningKeys.made_in(Path(keys))
        if url and bootstrap:
            users = os.environ.get("FERRY_KAFKA_USERS_DIR")
            yield Infra(
                url,
                KafkaSettings(kafka_fetch_max_wait_ms=QUICK_STOP_FETCH_WAIT_MS),
                Path(users) if users else None,
                local=True,
                issuer=issuer,
                keys=signing,
                kafka_brokers=int(os.environ.get("FERRY_KAFKA_BROKERS", "1")),
            )
        elif _docker_answers():
            with _containers(issuer, signing) as infra:
                yield infra
        else:
            raise RuntimeError(
                "no Kafka/PostgreSQL for the tests: run them with `make test` (it starts both "
                "with deploy/local/up.sh), or export FERRY_DATABASE_URL and "
                "FERRY_KAFKA_BOOTSTRAP_SERVERS, or run where a Docker engine answers"
            )


@contextmanager
def _containers(issuer: DevIssuer, signing: SigningKeys) -> Iterator[Infra]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with (
        PostgresContainer("postgres:15", driver="asyncpg") as pg,
        KafkaContainer("confluentinc/cp-kafka:7.6.1").with_kraft() as kafka,
    ):
        yield Infra(
            pg.get_connection_url(),
            KafkaSettings(
                kafka_bootstrap_servers=kafka.get_bootstrap_server(),
                kafka_security_protocol="PLAINTEXT",
                kafka_fetch_max_wait_ms=QUICK_STOP_FETCH_WAIT_MS,
            ),
            None,
            False,
            issuer,
            signing,
        )
