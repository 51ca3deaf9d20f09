"""Readiness before go-live: what a release's approval said must be ready before a
production deployment, and what release-svc has since confirmed.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f'ALTER TABLE "{schema}".release_facts '
        "ADD COLUMN readiness_required text[] NOT NULL DEFAULT '{}', "
        "ADD COLUMN readiness_confirmed text[] NOT NULL DEFAULT '{}'"
    )
