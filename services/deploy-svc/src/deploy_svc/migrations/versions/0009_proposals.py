"""Governance proposals: definitions of production environments awaiting a second person's
approval (`ferry.proposals`).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from ferry.migrations import create_proposals_table, target_schema

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_proposals_table(target_schema())
