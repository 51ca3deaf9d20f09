"""release-svc settings: the shared ones plus its port and schema."""

from __future__ import annotations

from pydantic import Field

from ferry.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = Field(8001, gt=0, lt=65536, validation_alias="FERRY_RELEASE_PORT")
    db_schema: str = Field(
        "release", pattern=r"^[a-z_][a-z0-9_]*$", validation_alias="FERRY_RELEASE_DB_SCHEMA"
    )
