"""Teams: what each owns and who holds which role for it (`ferry.teams`).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from ferry import team_table
from ferry.migrations import target_schema

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    team_table.create_table(target_schema())
