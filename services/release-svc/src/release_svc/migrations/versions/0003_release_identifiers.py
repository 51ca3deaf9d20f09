"""Human-readable release identifiers: REL-<year>-<number>, numbered per year.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f'CREATE TABLE "{schema}".release_numbers (year integer PRIMARY KEY, last integer NOT NULL)'
    )
    op.execute(f'ALTER TABLE "{schema}".release_list ADD COLUMN identifier text UNIQUE')
