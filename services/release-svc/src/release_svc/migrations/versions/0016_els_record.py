"""What els-svc reported of each release's Early Life Support, for its review: the cases
with their start and exit, their escalations, the incidents linked and the feedback given.

Filled by a consumer of its own from `els.events`' beginning (`projections.els_record`).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f"""CREATE TABLE "{schema}".els_cases (
            case_id uuid PRIMARY KEY,
            release_id uuid NOT NULL,
            environment text NOT NULL,
            started_at timestamptz,
            exited_at timestamptz,
            override_reason text NOT NULL DEFAULT ''
        )"""
    )
    op.execute(f'CREATE INDEX els_cases_release ON "{schema}".els_cases (release_id)')
    op.execute(
        f"""CREATE TABLE "{schema}".els_incidents (
            case_id uuid NOT NULL,
            release_id uuid NOT NULL,
            reference text NOT NULL,
            kind text NOT NULL,
            PRIMARY KEY (case_id, reference)
        )"""
    )
    op.execute(f'CREATE INDEX els_incidents_release ON "{schema}".els_incidents (release_id)')
    op.execute(
        f"""CREATE TABLE "{schema}".els_escalations (
            case_id uuid NOT NULL,
            metric text NOT NULL,
            period_start timestamptz NOT NULL,
            PRIMARY KEY (case_id, metric, period_start)
        )"""
    )
    op.execute(
        f"""CREATE TABLE "{schema}".els_feedback (
            event_id uuid PRIMARY KEY,
            case_id uuid NOT NULL,
            release_id uuid NOT NULL,
            rating integer NOT NULL,
            comment text NOT NULL,
            given_by text NOT NULL,
            given_at timestamptz NOT NULL
        )"""
    )
    op.execute(f'CREATE INDEX els_feedback_release ON "{schema}".els_feedback (release_id)')
