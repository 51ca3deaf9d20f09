"""deploy-svc settings: the shared ones plus its port and schema."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from ferry.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = Field(8003, gt=0, lt=65536, validation_alias="FERRY_DEPLOY_PORT")
    db_schema: str = Field(
        "deploy", pattern=r"^[a-z_][a-z0-9_]*$", validation_alias="FERRY_DEPLOY_DB_SCHEMA"
    )
    public_url: str = Field(
        "http://127.0.0.1:8003",
        pattern=r"^https?://",
        validation_alias="FERRY_DEPLOY_PUBLIC_URL",
    )
    """Where external automation reaches this service back (the webhook driver's callbacks)."""
    webhook_secrets: dict[str, SecretStr] = Field(
        {}, validation_alias="FERRY_DEPLOY_WEBHOOK_SECRETS"
    )
    """Webhook targets' HMAC secrets by name, as JSON: targets name one, never hold it."""
    dml_url: str = Field(
        "http://127.0.0.1:8002", pattern=r"^https?://", validation_alias="FERRY_DEPLOY_DML_URL"
    )
    """dml-svc's base URL: the only place media are fetched from."""
    dml_token_file: Path | None = Field(None, validation_alias="FERRY_DEPLOY_DML_TOKEN_FILE")
    """The service identity's bearer token (role `deployer`) for dml-svc, read at each request
    so a rotated token needs no restart."""
    dml_key_id: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", validation_alias="FERRY_DEPLOY_DML_KEY_ID"
    )
    """The DML's signing key (its id, as `GET /library/signing-key` names it): manifests
    signed with another are refused. Unset, the key the DML serves is trusted."""
    work_dir: Path = Field(Path(".ferry/dev/deploy-work"), validation_alias="FERRY_DEPLOY_WORK_DIR")
    """Where fetched and verified media wait for the drivers, a folder per deployment."""
    lease_seconds: float = Field(30, gt=0, validation_alias="FERRY_DEPLOY_LEASE_SECONDS")
    """How long a replica holds a deployment it runs without renewing: after a crash,
    another takes it up this long after."""
    executor_poll_seconds: float = Field(
        1.0, gt=0, validation_alias="FERRY_DEPLOY_EXECUTOR_POLL_SECONDS"
    )
    """How often each replica looks for deployments due."""
