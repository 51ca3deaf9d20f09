"""The licence of purchased software, on the media list.

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
    op.execute(f'ALTER TABLE "{target_schema()}".media ADD COLUMN licence jsonb')
