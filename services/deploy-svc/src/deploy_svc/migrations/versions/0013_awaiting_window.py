"""Deployments paused because their window closed: the executor takes them up again once a
window of their release holds.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f'ALTER TABLE "{schema}".deployments '
        "ADD COLUMN awaiting_window boolean NOT NULL DEFAULT false"
    )
