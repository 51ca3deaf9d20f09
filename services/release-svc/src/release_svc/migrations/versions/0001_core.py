"""Event store, outbox, inbox and idempotency keys.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from ferry.migrations import create_core_tables, target_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_core_tables(target_schema())
