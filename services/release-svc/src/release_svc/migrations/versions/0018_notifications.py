"""Notifications: the audiences' directory as a read model, and each notification to one
recipient over one channel, with its delivery's progress (the inbox is those whose
channel is `inbox`).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f"""CREATE TABLE "{schema}".audiences (
            name text PRIMARY KEY,
            description text NOT NULL,
            members text[] NOT NULL,
            emails text[] NOT NULL,
            webhooks text[] NOT NULL,
            stream_version integer NOT NULL
        )"""
    )
    op.execute(
        f"""CREATE TABLE "{schema}".notifications (
            notification_id uuid PRIMARY KEY,
            cause uuid NOT NULL,
            release_id uuid,
            channel text NOT NULL,
            recipient text NOT NULL,
            subject text NOT NULL,
            body text NOT NULL,
            state text NOT NULL DEFAULT 'pending',
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            lease_until timestamptz,
            last_error text NOT NULL DEFAULT '',
            created_at timestamptz NOT NULL DEFAULT now(),
            sent_at timestamptz,
            read_at timestamptz,
            UNIQUE (cause, channel, recipient)
        )"""
    )
    op.execute(
        f'CREATE INDEX notifications_due ON "{schema}".notifications (next_attempt_at) '
        "WHERE state = 'pending'"
    )
    op.execute(
        f'CREATE INDEX notifications_inbox ON "{schema}".notifications '
        "(recipient, created_at DESC, notification_id) WHERE channel = 'inbox'"
    )
