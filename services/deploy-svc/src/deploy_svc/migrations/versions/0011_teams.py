"""Teams, as release-svc records them (`ferry.teams`): who may act on what a team owns.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from ferry import team_table
from ferry.migrations import target_schema

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    team_table.create_table(target_schema())
