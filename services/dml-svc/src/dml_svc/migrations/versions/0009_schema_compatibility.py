"""Which code each schema revision serves (`ferry.migrations.serves_code_from`), so that a
release's pods stay ready while the next release migrates, and after a rollback.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from ferry import migrations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migrations.create_compatibility_table(migrations.target_schema())
    # A new table only: the code before it runs as well against this schema.
    migrations.serves_code_from(revision, "0008")
