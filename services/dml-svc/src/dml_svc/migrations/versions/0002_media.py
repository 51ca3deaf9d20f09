"""The media list: one row per media item, for browsing and filters.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE "{target_schema()}".media (
            media_id uuid PRIMARY KEY,
            name text NOT NULL,
            version text NOT NULL,
            sha256 text NOT NULL,
            size bigint NOT NULL,
            kind text NOT NULL,
            media_type text NOT NULL,
            supplier text NOT NULL,
            state text NOT NULL,
            stream_version int NOT NULL,
            UNIQUE (name, version)
        )"""
    )
