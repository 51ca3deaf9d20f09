"""Environment classes (development, test, staging, production), and the built package of
each release, which development and test environments take before approval, and the team
each release is planned for (whose testers may validate it by deploying it).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    # Environments defined before classes: production's, or staging's (what they behaved as).
    op.execute(
        f'ALTER TABLE "{schema}".environments ADD COLUMN environment_class text NOT NULL '
        "DEFAULT 'staging'"
    )
    op.execute(
        f"UPDATE \"{schema}\".environments SET environment_class = 'production' WHERE production"
    )
    op.execute(
        f'ALTER TABLE "{schema}".release_facts '
        "ADD COLUMN package_revision integer, "
        "ADD COLUMN package_media jsonb NOT NULL DEFAULT '[]', "
        "ADD COLUMN package_built_by text NOT NULL DEFAULT '', "
        "ADD COLUMN team text"
    )
