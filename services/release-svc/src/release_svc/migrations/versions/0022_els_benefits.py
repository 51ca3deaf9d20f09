"""Early Life Support for the delivery metrics: each case's first planned end (an overrun
is support past it), and the desk calls counted during it.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(f'ALTER TABLE "{schema}".els_cases ADD COLUMN planned_end timestamptz')
    op.execute(
        f"""CREATE TABLE "{schema}".els_desk_calls (
            case_id uuid NOT NULL,
            observation_id text NOT NULL,
            release_id uuid NOT NULL,
            value double precision NOT NULL,
            PRIMARY KEY (case_id, observation_id)
        )"""
    )
