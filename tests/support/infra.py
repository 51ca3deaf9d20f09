"""The real Kafka and PostgreSQL the integration and end-to-end tests run against.

`make test` starts them with deploy/local/up.sh and exports FERRY_DATABASE_URL and
FERRY_KAFKA_BOOTSTRAP_SERVERS. Where those are unset but a Docker engine answers,
testcontainers starts them instead. Neither → the run fails, saying how to fix it.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ferry.audit.chain import with_hash
from ferry.devauth import ISSUER, DevIssuer
from ferry.envelope import Envelope
from ferry.eventsigning import OWNERS, EventSigner, generate_pem
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
    kafka_bootstrap: str
    local: bool
    """True for the project's own local broker, which tests may stop and start."""
    issuer: DevIssuer
    """The token issuer the services under test trust."""
    keys: SigningKeys
    """The keys the services under test sign their events with, and trust."""

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
        if not self.local:
            raise RuntimeError("only the local broker (deploy/local) can be stopped by a test")
        port = self.kafka_bootstrap.rsplit(":", 1)[1]
        # FERRY_FRESH=0: a restart must keep the broker's data, as in an outage.
        env = {**os.environ, "FERRY_KAFKA_PORT": port, "FERRY_FRESH": "0"}
        subprocess.run(
            [str(REPO / "deploy/local/kafka.sh"), action], check=True, env=env, timeout=120
        )


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception:
        return False
    return True


@contextmanager
def infrastructure() -> Iterator[Infra]:
    url = os.environ.get("FERRY_DATABASE_URL")
    bootstrap = os.environ.get("FERRY_KAFKA_BOOTSTRAP_SERVERS")
    with tempfile.TemporaryDirectory(prefix="ferry-test-issuer-") as keys:
        issuer = DevIssuer(Path(keys))
        signing = SigningKeys.made_in(Path(keys))
        if url and bootstrap:
            yield Infra(url, bootstrap, local=True, issuer=issuer, keys=signing)
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
        yield Infra(pg.get_connection_url(), kafka.get_bootstrap_server(), False, issuer, signing)
