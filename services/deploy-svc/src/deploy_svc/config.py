"""deploy-svc settings: the shared ones plus its port and schema."""

from __future__ import annotations

from pydantic import Field

from ferry.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = Field(8003, gt=0, lt=65536, validation_alias="FERRY_DEPLOY_PORT")
    db_schema: str = Field(
        "deploy", pattern=r"^[a-z_][a-z0-9_]*$", validation_alias="FERRY_DEPLOY_DB_SCHEMA"
    )
