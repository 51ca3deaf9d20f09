"""The media list knows the service each media item is for, to filter by team.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(f'ALTER TABLE "{target_schema()}".media ADD COLUMN service text')
