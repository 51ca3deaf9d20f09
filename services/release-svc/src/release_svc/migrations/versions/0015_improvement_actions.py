"""Improvement actions as a list of their own: owner, due date and state, to follow up.

Actions raised before they could move on are all still open; they are listed from the
`ImprovementActionRaised` events that raised them.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f"""CREATE TABLE "{schema}".improvement_actions (
            action_id uuid PRIMARY KEY,
            release_id uuid NOT NULL,
            position integer NOT NULL,
            description text NOT NULL,
            owner text NOT NULL,
            due date,
            state text NOT NULL,
            note text NOT NULL,
            stream_version integer NOT NULL
        )"""
    )
    op.execute(
        f'CREATE INDEX improvement_actions_release ON "{schema}".improvement_actions '
        "(release_id, position)"
    )
    op.execute(
        f'CREATE INDEX improvement_actions_owner ON "{schema}".improvement_actions (owner, state)'
    )
    op.execute(
        f"""INSERT INTO "{schema}".improvement_actions
            SELECT (e.data->'action'->>'action_id')::uuid, (e.data->>'release_id')::uuid,
                   row_number() OVER (PARTITION BY e.stream_id ORDER BY e.stream_version) - 1,
                   e.data->'action'->>'description', coalesce(e.data->'action'->>'owner', ''),
                   (e.data->'action'->>'due')::date, 'open', '',
                   (SELECT max(v.stream_version) FROM "{schema}".events v
                    WHERE v.stream_id = e.stream_id)
            FROM "{schema}".events e WHERE e.type = 'ImprovementActionRaised'"""
    )
