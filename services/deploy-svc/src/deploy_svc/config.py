"""deploy-svc settings: the shared ones plus its port and schema, and the operator's limits
on what environments' targets may name (which drivers, folders, programs, URLs, namespaces,
Deployments and images)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from deploy_svc.adapters.backout_webhooks import BackoutWebhook
from deploy_svc.drivers.limits import check_prefix
from ferry.settings import ServiceSettings

DriverName = Literal["local", "webhook", "kubernetes"]
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


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
    backout_webhooks: dict[str, BackoutWebhook] = Field(
        {}, validation_alias="FERRY_DEPLOY_BACKOUT_WEBHOOKS"
    )
    """The webhooks backout plans' `webhook` steps name, as JSON: `{"name": {"url": ...,
    "secret": ...}}`; plans hold only the name."""
    drift_seconds: float = Field(300, ge=0, validation_alias="FERRY_DEPLOY_DRIFT_SECONDS")
    """How often each target Ferry deployed to is asked what runs there (0: never)."""
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

    # --- The operator's limits on targets (deployers define environments within them) ---
    drivers: list[DriverName] = Field(
        ["webhook", "kubernetes"], validation_alias="FERRY_DEPLOY_DRIVERS"
    )
    """The drivers targets may use, as JSON. `local` runs on deploy-svc's own machine: only
    for the local development stack, so it is off unless listed."""
    local_roots: list[Path] = Field([], validation_alias="FERRY_DEPLOY_LOCAL_ROOTS")
    """Folders `local` targets' `path` must lie under, as JSON (absolute paths)."""
    local_programs: list[str] = Field([], validation_alias="FERRY_DEPLOY_LOCAL_PROGRAMS")
    """Programs a `local` target's `verify_command` may start (its first word, exactly as
    written), as JSON; `["*"]`: any. Empty: no `verify_command` at all."""
    url_prefixes: list[str] = Field([], validation_alias="FERRY_DEPLOY_URL_PREFIXES")
    """URL prefixes (scheme, host, port and path) that webhook targets' `url` and
    `status_url`, and `local` targets' `verify_url`, must start with, as JSON."""
    k8s_namespaces: list[str] = Field([], validation_alias="FERRY_DEPLOY_K8S_NAMESPACES")
    """Namespaces `kubernetes` targets may name, as JSON; never Ferry's own."""
    k8s_deployments: list[str] = Field(["*"], validation_alias="FERRY_DEPLOY_K8S_DEPLOYMENTS")
    """Shell-style patterns Deployment names must match (in the namespaces allowed), as JSON."""
    k8s_image_prefixes: list[str] = Field([], validation_alias="FERRY_DEPLOY_K8S_IMAGE_PREFIXES")
    """Prefixes `kubernetes` targets' image must start with (a registry and repository path
    ending in `/`, or a repository ending in `:`), as JSON."""
    own_namespace: str | None = Field(
        None, pattern=_K8S_NAME.pattern, validation_alias="FERRY_DEPLOY_OWN_NAMESPACE"
    )
    """Ferry's own namespace (the manifests set it from the pod's): never a target's. The
    namespace of the pod's service account, where there is one, is refused as well."""

    @field_validator("local_roots")
    @classmethod
    def _absolute_roots(cls, roots: list[Path]) -> list[Path]:
        if relative := [str(r) for r in roots if not r.is_absolute() or ".." in r.parts]:
            raise ValueError(f"absolute paths without '..' only: {', '.join(relative)}")
        return roots

    @field_validator("url_prefixes")
    @classmethod
    def _urls(cls, prefixes: list[str]) -> list[str]:
        return [check_prefix(p) for p in prefixes]

    @field_validator("k8s_namespaces")
    @classmethod
    def _namespaces(cls, names: list[str]) -> list[str]:
        if wrong := [n for n in names if not _K8S_NAME.fullmatch(n)]:
            raise ValueError(f"not namespace names: {', '.join(wrong)}")
        return names

    @field_validator("k8s_image_prefixes")
    @classmethod
    def _image_prefixes(cls, prefixes: list[str]) -> list[str]:
        # Else `registry.example.com` would let `registry.example.com.evil.net/...` in.
        if wrong := [p for p in prefixes if not p.endswith(("/", ":"))]:
            raise ValueError(f"each must end in '/' or ':': {', '.join(wrong)}")
        return prefixes

    @model_validator(mode="after")
    def _never_own_namespace(self) -> Settings:
        if self.own_namespace is not None and self.own_namespace in self.k8s_namespaces:
            raise ValueError(
                f"FERRY_DEPLOY_K8S_NAMESPACES lists {self.own_namespace}, Ferry's own namespace"
            )
        return self
