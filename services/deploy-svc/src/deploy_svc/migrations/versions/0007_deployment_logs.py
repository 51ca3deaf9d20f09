"""The deployment log: what drivers' steps have to say at length (a command's output, a remote
answer's body), redacted, kept out of events.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f"""CREATE TABLE "{schema}".deployment_log (
            entry bigserial PRIMARY KEY,
            deployment_id uuid NOT NULL,
            target text NOT NULL,
            at timestamptz NOT NULL,
            step text NOT NULL,
            text text NOT NULL
        )"""
    )
    op.execute(
        f'CREATE INDEX deployment_log_by_deployment ON "{schema}".deployment_log '
        "(deployment_id, entry)"
    )
