"""The release list read model, for browsing and filtering releases.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f"""CREATE TABLE "{schema}".release_list (
            release_id uuid PRIMARY KEY,
            name text NOT NULL,
            version text NOT NULL,
            status text NOT NULL,
            planned_start date NOT NULL,
            planned_end date NOT NULL,
            release_manager text NOT NULL,
            stream_version integer NOT NULL
        )"""
    )
    # The list's order, which its cursor pages through.
    op.execute(
        f'CREATE INDEX release_list_order ON "{schema}".release_list (planned_start, release_id)'
    )
