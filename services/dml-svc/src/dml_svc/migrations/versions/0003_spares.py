"""The Definitive Hardware Store: the spares list, the configuration items' live revisions,
and what the library knows of requests for change (to know the approved ones).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f"""CREATE TABLE "{schema}".spares (
            spare_id uuid PRIMARY KEY,
            model text NOT NULL,
            part_number text NOT NULL,
            revision text NOT NULL,
            location text NOT NULL,
            replaces text[] NOT NULL,
            in_store int NOT NULL CHECK (in_store >= 0),
            in_live int NOT NULL CHECK (in_live >= 0),
            out_of_date boolean NOT NULL,
            stream_version int NOT NULL
        )"""
    )
    op.execute(f'CREATE INDEX ON "{schema}".spares (model, part_number, spare_id)')
    # Finding the spares that replace a configuration item: `replaces @> ARRAY[ci]`.
    op.execute(f'CREATE INDEX ON "{schema}".spares USING gin (replaces)')
    op.execute(
        f"""CREATE TABLE "{schema}".live_revisions (
            configuration_item text PRIMARY KEY,
            revision text NOT NULL,
            set_by text NOT NULL,
            set_at timestamptz NOT NULL DEFAULT now()
        )"""
    )
    op.execute(
        f"""CREATE TABLE "{schema}".change_decisions (
            rfc text PRIMARY KEY,
            change_decision text CHECK (change_decision IN ('approved', 'rejected')),
            release_approved boolean NOT NULL DEFAULT false
        )"""
    )
