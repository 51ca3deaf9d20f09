"""How Ferry's clients reach Kafka: the `FERRY_KAFKA_*` settings and the aiokafka options
they make, shared by every producer, consumer, admin client, the event feed and `ferry audit`.

Secrets come from files (a mounted Kubernetes Secret) and are read at each connection, so a
rotated password or certificate is picked up without a restart.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, Literal, TypeVar

from aiokafka.helpers import create_ssl_context
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]
T = TypeVar("T")


class KafkaSettings(BaseSettings):
    """Where Kafka is and who Ferry is to it; documented in docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    """SASL_SSL (a username and password over TLS) or SSL (TLS; with a client certificate
    for mutual TLS) in production; PLAINTEXT only for a broker nobody else can reach."""
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_username: str | None = None
    kafka_password_file: Path | None = None
    """The SASL password, alone in a file (e.g. Strimzi's KafkaUser Secret, key `password`)."""
    kafka_ca_file: Path | None = None
    """The CA (PEM) the brokers' certificates are checked against; unset: the system's CAs."""
    kafka_cert_file: Path | None = None
    """A client certificate (PEM) for mutual TLS, with `kafka_key_file`."""
    kafka_key_file: Path | None = None
    kafka_fetch_max_wait_ms: int = Field(500, ge=10, le=30_000)
    """How long the broker holds a consumer's fetch while there is nothing new. A consumer
    stopping over TLS waits for the fetch in flight (the broker reads nothing more from the
    connection until it answers), so this is also how long a stop can take; lower is quicker
    at the cost of more requests while idle."""

    @model_validator(mode="after")
    def _complete(self) -> KafkaSettings:
        sasl = self.kafka_security_protocol.startswith("SASL_")
        if sasl and not (self.kafka_username and self.kafka_password_file):
            raise ValueError(
                f"FERRY_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "FERRY_KAFKA_USERNAME and FERRY_KAFKA_PASSWORD_FILE"
            )
        if (self.kafka_cert_file is None) != (self.kafka_key_file is None):
            raise ValueError("FERRY_KAFKA_CERT_FILE and FERRY_KAFKA_KEY_FILE go together")
        if self.kafka_cert_file and not self.kafka_security_protocol.endswith("SSL"):
            raise ValueError(
                "a client certificate needs FERRY_KAFKA_SECURITY_PROTOCOL SSL or SASL_SSL"
            )
        return self

    def kafka_options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client: bootstrap servers and security."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.kafka_bootstrap_servers,
            "security_protocol": self.kafka_security_protocol,
        }
        if self.kafka_security_protocol.endswith("SSL"):
            files = (self.kafka_ca_file, self.kafka_cert_file, self.kafka_key_file)
            options["ssl_context"] = _ssl_context(files, tuple(_version(f) for f in files))
        if self.kafka_security_protocol.startswith("SASL_"):
            assert self.kafka_password_file is not None  # checked by _complete
            options |= {
                "sasl_mechanism": self.kafka_sasl_mechanism,
                # aiokafka's names; they carry the SCRAM credentials too.
                "sasl_plain_username": self.kafka_username,
                "sasl_plain_password": self.kafka_password_file.read_text().strip(),
            }
        return options

    def consumer_options(self) -> dict[str, Any]:
        """`kafka_options` for a consumer: it sees only committed transactions, so never the
        records of a relay's batch that was aborted (the relay sends that batch again)."""
        return self.kafka_options() | {
            "isolation_level": "read_committed",
            "fetch_max_wait_ms": self.kafka_fetch_max_wait_ms,
        }


@functools.lru_cache(maxsize=16)
def _ssl_context(
    files: tuple[Path | None, Path | None, Path | None], versions: tuple[object, ...]
) -> ssl.SSLContext:
    """One context per version of the CA, certificate and key files: loading them took a few
    milliseconds at every client's start; a file replaced (a rotated Secret) is a new
    version, so the next client reads it."""
    ca, cert, key = files
    context: ssl.SSLContext = create_ssl_context(cafile=ca, certfile=cert, keyfile=key)
    return context


def _version(path: Path | None) -> object:
    if path is None:
        return None
    found = path.stat()  # through a Secret volume's symlinks, to the file now there
    return (found.st_ino, found.st_mtime_ns, found.st_size)


GRACE_SECONDS = 5.0


async def uninterrupted(step: Awaitable[T]) -> T:
    """Await a step of an aiokafka client's life (`start()`, `bootstrap()`, `stop()`, or
    an opening that starts one and asks for metadata); if cancelled meanwhile, let it finish
    first (for up to `GRACE_SECONDS`), then pass the cancellation on.

    aiokafka forgets a connection when cancelled while opening it (the bootstrap one during
    the metadata request after the connect; a broker's during its version or SASL
    handshake), and a `stop()` cut short leaves TLS connections closing with nobody waiting:
    either socket stays open until collected, so a service stopped while its clients start
    or stop would leak one (`tests/integration/test_kafka_cancelled.py`).
    """
    task = asyncio.ensure_future(step)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GRACE_SECONDS
        while not task.done() and (left := deadline - loop.time()) > 0:
            try:
                await asyncio.wait({task}, timeout=left)
            except asyncio.CancelledError:
                continue  # cancelled again (a cancel scope repeats it): still finishing
        if task.done():
            if not task.cancelled():
                task.exception()  # retrieved: the cancellation is what the caller gets
        else:
            task.cancel()
        raise
