"""Notifications a communication plan asks its recipients to acknowledge, and when they did.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        f'ALTER TABLE "{target_schema()}".notifications '
        "ADD COLUMN acknowledge boolean NOT NULL DEFAULT false, "
        "ADD COLUMN acknowledged_at timestamptz"
    )
