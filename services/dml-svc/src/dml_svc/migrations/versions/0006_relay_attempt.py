"""The outbox relay's batch in flight, so a relay that died between publishing and
forgetting it sends nothing twice (`ferry.outbox`).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from ferry.migrations import create_relay_attempt_table, target_schema

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_relay_attempt_table(target_schema())
