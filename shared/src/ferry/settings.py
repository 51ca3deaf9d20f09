"""Settings common to every service, read from `FERRY_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, TypeAdapter, field_validator
from pydantic_settings import SettingsConfigDict

from ferry.auth import ROLE_NAMES, TEAM_ROLES
from ferry.grants import parse_grant
from ferry.kafka_client import KafkaSettings

_TRUST: TypeAdapter[dict[str, list[str]]] = TypeAdapter(dict[str, list[str]])


class ServiceSettings(KafkaSettings):
    """Every variable is documented in docs/configuration.md; keep them in step."""

    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        "postgresql+asyncpg://ferry:ferry@127.0.0.1:5432/ferry",
        pattern=r"^postgresql(\+asyncpg)?://",
        description="postgresql:// or postgresql+asyncpg:// URL",
    )
    topic_prefix: str = ""
    """Prefixed to every topic name: lets tests and several stacks share one broker."""
    host: str = "127.0.0.1"
    port: int = Field(gt=0, lt=65536)
    db_schema: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    migrate_on_start: bool = True
    """Apply migrations at start-up (development); in production run `migrate` as its own step."""
    auth_issuer: str | None = None
    """The `iss` of accepted tokens; required, with one of the two JWKS sources below."""
    auth_audience: str = "ferry"
    auth_jwks_url: str | None = None
    auth_jwks_file: Path | None = None
    auth_roles_claim: str = "roles"
    """The claim holding the caller's roles or groups (e.g. `roles`, `groups`)."""
    auth_role_map: dict[str, str] = {}
    """IdP group → Ferry role, everywhere or for a team, as JSON: {"rel-managers":
    "release-manager", "pay-deployers": "payments:deployer"}. When set, an
    allow-list: a group it does not name gives no role, whatever it is called."""
    auth_jwks_refresh_seconds: float = Field(300.0, gt=0)
    """The issuer's key set is fetched again when it is older than this: a key the issuer
    withdrew is refused at the latest this long after. A failed fetch keeps the last good set."""
    event_signing_key_file: Path | None = None
    """The service's Ed25519 private key (PEM) to sign the events it publishes with; unset:
    its events are unsigned, and no other service acts on any of them."""
    event_trusted_keys: dict[str, list[str]] = {}
    """The keys each service signs with, as JSON: {"release-svc": ["<base64 raw public
    key>", ...], ...} (a service's keys at GET /signing-keys); several during a rotation.
    An event of a type `ferry.eventsigning.OWNERS` lists counts only if signed by one of
    its owner's."""
    event_trusted_keys_file: Path | None = None
    """The same, from a JSON file (e.g. a mounted ConfigMap), read at start-up; its keys are
    trusted beside those of `event_trusted_keys`."""
    change_tool_keys: dict[str, dict[str, SecretStr]] = {}
    """The HMAC secrets of outside change tools, as JSON: {"<CloudEvents source>": {"<key
    id>": "<secret>", ...}}; several per tool during a rotation. A `ChangeApproved` or
    `ChangeRejected` on change.events counts only if MACed with one of its source's."""
    shutdown_drain_seconds: float = Field(5.0, ge=0)
    """On shutdown, how long the outbox relay may keep publishing what is committed."""
    otlp_endpoint: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    """Where to send traces (an OpenTelemetry collector's OTLP/HTTP base URL); unset: none."""
    log_level: str = "INFO"
    db_pool_size: int = Field(10, ge=2)
    """Database connections per worker process; at least two, as the outbox relay marks
    its batch in flight on a second connection."""
    workers: int = Field(1, ge=1, le=64)
    """Worker processes serving the API, each with its relay, consumers and jobs as a
    replica would have: more than one uses more of a machine's cores."""

    @field_validator("auth_role_map")
    @classmethod
    def _maps_onto_ferry_roles(cls, value: dict[str, str]) -> dict[str, str]:
        grants = ((g, parse_grant(g, ROLE_NAMES, TEAM_ROLES)) for g in value.values())
        if wrong := sorted(name for name, grant in grants if grant is None):
            raise ValueError(
                f"not Ferry roles (`role` or `team:role`): {', '.join(wrong)}; roles: "
                f"{', '.join(sorted(ROLE_NAMES))}; for a team: {', '.join(sorted(TEAM_ROLES))}"
            )
        return value

    def trusted_event_keys(self) -> dict[str, list[str]]:
        """Every key `event_trusted_keys` and `event_trusted_keys_file` list, per service."""
        trusted = {service: list(keys) for service, keys in self.event_trusted_keys.items()}
        if self.event_trusted_keys_file is not None:
            listed: dict[str, list[str]] = _TRUST.validate_json(
                self.event_trusted_keys_file.read_bytes()
            )
            for service, keys in listed.items():
                trusted.setdefault(service, []).extend(keys)
        return trusted

    def change_tool_secrets(self) -> dict[str, dict[str, bytes]]:
        """`change_tool_keys`, revealed: each secret as UTF-8 bytes."""
        return {
            tool: {kid: secret.get_secret_value().encode() for kid, secret in keys.items()}
            for tool, keys in self.change_tool_keys.items()
        }

    @classmethod
    def environment_variables(cls) -> set[str]:
        """The names of the variables these settings read: a field's alias, else prefix + name."""
        prefix = cls.model_config.get("env_prefix", "")
        names = set()
        for name, field in cls.model_fields.items():
            alias = field.validation_alias
            names.add(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
        return names

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
