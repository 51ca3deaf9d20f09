"""Which releases depend on which: the graph dependency changes are checked against.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE "{target_schema()}".release_dependencies (
            release_id uuid NOT NULL,
            depends_on uuid NOT NULL,
            PRIMARY KEY (release_id, depends_on)
        )"""
    )
