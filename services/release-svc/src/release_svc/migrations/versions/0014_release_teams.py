"""The release list and the schedule know each release's team and services, to show and
filter by the teams a release touches.

Releases planned before teams were planned for none; their services come from the last
scope each one set.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f'ALTER TABLE "{schema}".release_list ADD COLUMN team text, '
        "ADD COLUMN services text[] NOT NULL DEFAULT '{}'"
    )
    op.execute(f'ALTER TABLE "{schema}".deployment_windows ADD COLUMN team text')
    op.execute(
        f"""UPDATE "{schema}".release_list l SET services = ARRAY(
            SELECT DISTINCT item->>'name' FROM jsonb_array_elements(s.data->'items') item
            WHERE item->>'kind' = 'service' ORDER BY 1)
        FROM (SELECT DISTINCT ON (stream_id) stream_id, data FROM "{schema}".events
              WHERE type = 'ReleaseScopeSet' ORDER BY stream_id, stream_version DESC) s
        WHERE s.stream_id = 'release-' || l.release_id"""
    )
    op.execute(
        f'CREATE INDEX release_list_services ON "{schema}".release_list USING gin (services)'
    )
