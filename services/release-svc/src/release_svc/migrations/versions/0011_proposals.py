"""Governance proposals: changes to release policies and lifts of freezes awaiting a second
person's approval (`ferry.proposals`).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from ferry.migrations import create_proposals_table, target_schema

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_proposals_table(target_schema())
