"""What each approved release's risk asks of its production deployments: its assessed level,
the least careful strategy and the shortest soak its policy allows for that level.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        f'ALTER TABLE "{target_schema()}".release_facts '
        "ADD COLUMN risk_level text, ADD COLUMN least_strategy text, "
        "ADD COLUMN min_soak_seconds double precision NOT NULL DEFAULT 0"
    )
