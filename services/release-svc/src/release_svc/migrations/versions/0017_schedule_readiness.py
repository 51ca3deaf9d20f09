"""The schedule shows what each approved release must still have confirmed ready before
production.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        f'ALTER TABLE "{target_schema()}".deployment_windows '
        "ADD COLUMN readiness_open text[] NOT NULL DEFAULT '{}'"
    )
