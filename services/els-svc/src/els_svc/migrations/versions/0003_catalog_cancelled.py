"""The local release catalog learns of cancelled releases.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from ferry import catalog
from ferry.migrations import target_schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    catalog.add_cancelled(target_schema())
