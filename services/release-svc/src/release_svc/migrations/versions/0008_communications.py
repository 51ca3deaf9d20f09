"""The communications schedule: when each release's communication plan entries fall due,
and when they were announced.

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
    op.execute(
        f"""CREATE TABLE "{schema}".communications (
            release_id uuid NOT NULL,
            entry_id text NOT NULL,
            due_at timestamptz,
            announced_at timestamptz,
            announced_due_at timestamptz,
            PRIMARY KEY (release_id, entry_id)
        )"""
    )
    # Only what is still to announce: the scan every poll makes stays as small as that.
    op.execute(
        f"""CREATE INDEX communications_pending ON "{schema}".communications (due_at)
            WHERE due_at IS NOT NULL AND (announced_at IS NULL OR due_at > announced_at)"""
    )
