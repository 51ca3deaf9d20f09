"""Drift: what Ferry made live on each target last, and each change found behind its back.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f"""CREATE TABLE "{schema}".live_targets (
            environment text NOT NULL,
            target text NOT NULL,
            version text,
            deployment_id uuid NOT NULL,
            changed_at timestamptz NOT NULL,
            PRIMARY KEY (environment, target)
        )"""
    )
    op.execute(
        f"""CREATE TABLE "{schema}".unauthorised_changes (
            environment text NOT NULL,
            target text NOT NULL,
            expected text,
            found text,
            detected_at timestamptz NOT NULL,
            cleared_at timestamptz,
            PRIMARY KEY (environment, target, detected_at)
        )"""
    )
    op.execute(
        f'CREATE INDEX unauthorised_changes_open ON "{schema}".unauthorised_changes '
        "(detected_at DESC) WHERE cleared_at IS NULL"
    )
