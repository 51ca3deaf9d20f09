"""The media the DML has announced, which packages are checked against.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE "{target_schema()}".known_media (
            name text NOT NULL,
            version text NOT NULL,
            sha256 text NOT NULL,
            revoked bool NOT NULL DEFAULT false,
            PRIMARY KEY (name, version)
        )"""
    )
