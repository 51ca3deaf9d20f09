"""The outbox relay's batch in flight, so a relay that died between publishing and
forgetting it sends nothing twice (`ferry.outbox`).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from ferry.migrations import create_relay_attempt_table, target_schema

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_relay_attempt_table(target_schema())
