"""dml-svc settings: the shared ones plus its port and schema."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ferry.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = Field(8002, gt=0, lt=65536, validation_alias="FERRY_DML_PORT")
    db_schema: str = Field(
        "dml", pattern=r"^[a-z_][a-z0-9_]*$", validation_alias="FERRY_DML_DB_SCHEMA"
    )
    media_dir: Path = Field(Path(".ferry/dev/dml-media"), validation_alias="FERRY_DML_MEDIA_DIR")
    """Where the library keeps media bytes (a persistent volume in production)."""
    max_upload_bytes: int = Field(8 << 30, gt=0, validation_alias="FERRY_DML_MAX_UPLOAD_BYTES")
    """Larger uploads are refused with 413 (default 8 GiB)."""
    signing_key_file: Path | None = Field(None, validation_alias="FERRY_DML_SIGNING_KEY_FILE")
    """The Ed25519 private key (PEM) manifests are signed with; unset, a development key is
    made in the media folder."""
    scrub_interval_seconds: float = Field(
        86400, ge=0, validation_alias="FERRY_DML_SCRUB_INTERVAL_SECONDS"
    )
    """How often every blob is re-hashed (0: only on demand)."""
