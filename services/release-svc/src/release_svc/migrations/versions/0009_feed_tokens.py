"""Calendar feed tokens: secret URLs a calendar app can subscribe to without a bearer token.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE "{target_schema()}".feed_tokens (
            token_id uuid PRIMARY KEY,
            secret_sha256 text NOT NULL UNIQUE,
            subject text NOT NULL,
            label text NOT NULL,
            created_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL,
            revoked_at timestamptz
        )"""
    )
    op.execute(f'CREATE INDEX feed_tokens_subject ON "{target_schema()}".feed_tokens (subject)')
