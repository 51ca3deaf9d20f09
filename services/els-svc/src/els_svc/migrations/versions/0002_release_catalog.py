"""Local read model of releases.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from ferry import catalog
from ferry.migrations import target_schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    catalog.create_table(target_schema())
