"""The webhook driver's requests awaiting a result, and the results external automation
called back with (on whichever replica it reached).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE "{target_schema()}".webhook_results (
            deployment_id uuid NOT NULL,
            target text NOT NULL,
            action text NOT NULL,
            idempotency_id text NOT NULL UNIQUE,
            secret_name text NOT NULL,
            requested_at timestamptz NOT NULL,
            outcome text,
            detail text,
            previous text,
            received_at timestamptz,
            PRIMARY KEY (deployment_id, target, action)
        )"""
    )
