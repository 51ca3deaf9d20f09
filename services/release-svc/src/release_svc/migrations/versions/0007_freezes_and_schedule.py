"""Freeze periods and the deployment schedule: the read models the schedule, its conflicts
and its calendar feed are queried from.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f"""CREATE TABLE "{schema}".freeze_periods (
            freeze_id uuid PRIMARY KEY,
            starts_at timestamptz NOT NULL,
            ends_at timestamptz NOT NULL,
            reason text NOT NULL,
            environments text[] NOT NULL,
            services text[] NOT NULL,
            lifted boolean NOT NULL DEFAULT false,
            lift_reason text NOT NULL DEFAULT '',
            stream_version integer NOT NULL
        )"""
    )
    # The list's order, which its cursor pages through.
    op.execute(
        f'CREATE INDEX freeze_periods_order ON "{schema}".freeze_periods (starts_at, freeze_id)'
    )
    # One row per window: a release's schedule facts are copied onto each, so the schedule's
    # filters and its conflict checks read this table alone.
    op.execute(
        f"""CREATE TABLE "{schema}".deployment_windows (
            release_id uuid NOT NULL,
            environment text NOT NULL,
            starts_at timestamptz NOT NULL,
            ends_at timestamptz NOT NULL,
            identifier text NOT NULL,
            name text NOT NULL,
            status text NOT NULL,
            deployed boolean NOT NULL,
            services text[] NOT NULL,
            owners text[] NOT NULL,
            depends_on uuid[] NOT NULL,
            overridden_freezes uuid[] NOT NULL,
            PRIMARY KEY (release_id, environment)
        )"""
    )
    table = f'"{schema}".deployment_windows'
    op.execute(
        f"CREATE INDEX deployment_windows_order ON {table} (starts_at, release_id, environment)"
    )
    # Conflict checks look for overlapping windows in one environment.
    op.execute(f"CREATE INDEX deployment_windows_environment ON {table} (environment, starts_at)")
    op.execute(f"CREATE INDEX deployment_windows_services ON {table} USING gin (services)")
    op.execute(f"CREATE INDEX deployment_windows_owners ON {table} USING gin (owners)")
    op.execute(f"CREATE INDEX deployment_windows_status ON {table} (status)")
