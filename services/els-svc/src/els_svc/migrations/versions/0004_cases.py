"""Early Life Support: what els-svc knows of each release's support, and the case list.

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
    schema = target_schema()
    op.execute(
        f"""CREATE TABLE "{schema}".release_support (
            release_id uuid PRIMARY KEY,
            escalation_contact text NOT NULL,
            els_end date
        )"""
    )
    op.execute(
        f"""CREATE TABLE "{schema}".cases (
            case_id uuid PRIMARY KEY,
            release_id uuid NOT NULL,
            environment text NOT NULL,
            services text[] NOT NULL,
            state text NOT NULL,
            evaluable bool NOT NULL,
            started_at timestamptz NOT NULL,
            planned_end timestamptz,
            stream_version int NOT NULL
        )"""
    )
    op.execute(f'CREATE INDEX cases_evaluable ON "{schema}".cases (case_id) WHERE evaluable')
