"""Who built and who validated each approved package, so a production deployment by either
is refused under `one-gate-per-person`.

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
    schema = target_schema()
    # Releases approved before this learnt nobody: their approvals did not name the gates.
    op.execute(
        f"""ALTER TABLE "{schema}".release_facts
            ADD COLUMN built_by text NOT NULL DEFAULT '',
            ADD COLUMN validated_by text[] NOT NULL DEFAULT '{{}}'"""
    )
