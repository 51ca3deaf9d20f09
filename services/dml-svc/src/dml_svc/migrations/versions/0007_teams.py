"""Teams, as release-svc records them (`ferry.teams`): who may act on what a team owns.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from ferry import team_table
from ferry.migrations import target_schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    team_table.create_table(target_schema())
