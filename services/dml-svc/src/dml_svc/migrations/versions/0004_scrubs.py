"""Integrity scrubs: each run's progress and findings.

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
        f"""CREATE TABLE "{target_schema()}".scrubs (
            scrub_id uuid PRIMARY KEY,
            requested_by text NOT NULL,
            requested_at timestamptz NOT NULL,
            started_at timestamptz,
            heartbeat_at timestamptz,
            finished_at timestamptz,
            total int NOT NULL DEFAULT 0,
            checked int NOT NULL DEFAULT 0,
            corrupted jsonb NOT NULL DEFAULT '[]'
        )"""
    )
