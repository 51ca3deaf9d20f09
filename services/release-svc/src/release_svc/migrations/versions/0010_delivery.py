"""What deploy-svc reported of deployments and environments, which the delivery metrics
are computed from.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f"""CREATE TABLE "{schema}".delivery_environments (
            environment text PRIMARY KEY,
            production bool NOT NULL
        )"""
    )
    op.execute(
        f"""CREATE TABLE "{schema}".delivery_deployments (
            deployment_id uuid PRIMARY KEY,
            release_id uuid NOT NULL,
            environment text NOT NULL,
            completed_at timestamptz,
            failed_at timestamptz,
            rolled_back_at timestamptz
        )"""
    )
    op.execute(
        f'CREATE INDEX delivery_deployments_environment ON "{schema}".delivery_deployments '
        "(environment)"
    )
