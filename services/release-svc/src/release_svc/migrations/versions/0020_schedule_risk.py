"""The schedule shows each release's assessed risk (null until assessed; rows written before
this show it from the release's next change, or at once after a read-model rebuild).

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(f'ALTER TABLE "{target_schema()}".deployment_windows ADD COLUMN risk text')
