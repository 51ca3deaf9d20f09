"""Each release's backout plan, which deploy-svc follows step by step: its typed steps and
the triggers it watches for.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        f'ALTER TABLE "{target_schema()}".release_facts '
        "ADD COLUMN backout_steps jsonb NOT NULL DEFAULT '[]', "
        "ADD COLUMN backout_triggers jsonb NOT NULL DEFAULT '[]'"
    )
