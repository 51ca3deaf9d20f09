"""Every signal from ops.signals, kept so baselines can be computed from before a deployment.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f"""CREATE TABLE "{schema}".signals (
            signal_id text PRIMARY KEY,
            service text NOT NULL,
            environment text NOT NULL,
            metric text NOT NULL,
            value double precision NOT NULL,
            observed_at timestamptz NOT NULL
        )"""
    )
    op.execute(
        f'CREATE INDEX signals_lookup ON "{schema}".signals '
        "(service, environment, metric, observed_at)"
    )
