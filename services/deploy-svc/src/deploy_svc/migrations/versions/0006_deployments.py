"""Environments, the deployment list (with the targets active deployments hold), and the
leases that let one replica run each deployment.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f"""CREATE TABLE "{schema}".environments (
            name text PRIMARY KEY,
            production bool NOT NULL,
            targets jsonb NOT NULL,
            stream_version int NOT NULL
        )"""
    )
    op.execute(
        f"""CREATE TABLE "{schema}".deployments (
            deployment_id uuid PRIMARY KEY,
            release_id uuid NOT NULL,
            environment text NOT NULL,
            release_version text NOT NULL,
            state text NOT NULL,
            paused bool NOT NULL,
            strategy text NOT NULL,
            scheduled_start timestamptz NOT NULL,
            requested_by text NOT NULL,
            targets text[] NOT NULL,
            deployed text[] NOT NULL,
            reason text NOT NULL,
            stream_version int NOT NULL
        )"""
    )
    op.execute(
        f'CREATE INDEX deployments_due ON "{schema}".deployments (scheduled_start) '
        "WHERE state IN ('scheduled', 'running', 'rolling_back')"
    )
    op.execute(
        f"""CREATE TABLE "{schema}".deployment_leases (
            deployment_id uuid PRIMARY KEY,
            owner text NOT NULL,
            until timestamptz NOT NULL
        )"""
    )
