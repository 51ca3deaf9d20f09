"""release-svc settings: the shared ones plus its port, schema and communications poll."""

from __future__ import annotations

from pydantic import Field

from ferry.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = Field(8001, gt=0, lt=65536, validation_alias="FERRY_RELEASE_PORT")
    db_schema: str = Field(
        "release", pattern=r"^[a-z_][a-z0-9_]*$", validation_alias="FERRY_RELEASE_DB_SCHEMA"
    )
    communication_poll_seconds: float = Field(30.0, gt=0)
    """How often to look for communication plan entries that fell due."""
