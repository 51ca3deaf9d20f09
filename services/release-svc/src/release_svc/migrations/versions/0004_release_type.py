"""The release list shows and filters by release type.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(f'ALTER TABLE "{target_schema()}".release_list ADD COLUMN release_type text')
