"""Benefits measured beside the four delivery metrics: each release's assessed risk (change
failure rate by risk level), and the unauthorised changes deploy-svc detected.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(f'ALTER TABLE "{schema}".release_list ADD COLUMN risk text')
    op.execute(
        f"""CREATE TABLE "{schema}".delivery_unauthorised_changes (
            event_id uuid PRIMARY KEY,
            environment text NOT NULL,
            target text NOT NULL,
            detected_at timestamptz NOT NULL
        )"""
    )
