"""What deploy-svc knows of releases, freezes, the library and its own completed deployments:
the facts a deployment plan is judged against (`deploy_svc.projections.release_facts`).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

from ferry.migrations import target_schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    # Events of two topics arrive in no set order, so a row may begin from either side:
    # `identifier` stays null until release-svc's ReleasePlanned arrives.
    op.execute(
        f"""CREATE TABLE "{schema}".release_facts (
            release_id uuid PRIMARY KEY,
            identifier text,
            version text,
            cancelled boolean NOT NULL DEFAULT false,
            overridden_freezes uuid[] NOT NULL DEFAULT '{{}}',
            depends_on uuid[] NOT NULL DEFAULT '{{}}',
            approvers text[] NOT NULL DEFAULT '{{}}',
            segregation text[] NOT NULL DEFAULT '{{}}',
            services text[] NOT NULL DEFAULT '{{}}',
            configuration_items text[] NOT NULL DEFAULT '{{}}',
            manifest text,
            signature text,
            key_id text,
            revoked boolean NOT NULL DEFAULT false
        )"""
    )
    op.execute(
        f"""CREATE TABLE "{schema}".release_windows (
            release_id uuid NOT NULL,
            environment text NOT NULL,
            starts_at timestamptz NOT NULL,
            ends_at timestamptz NOT NULL,
            PRIMARY KEY (release_id, environment)
        )"""
    )
    # The media of each available release's manifest, and the media the DML revoked: a
    # release is revoked when the two meet, whichever of the events came first.
    op.execute(
        f"""CREATE TABLE "{schema}".release_media (
            release_id uuid NOT NULL,
            name text NOT NULL,
            version text NOT NULL,
            PRIMARY KEY (release_id, name, version)
        )"""
    )
    op.execute(f'CREATE INDEX release_media_item ON "{schema}".release_media (name, version)')
    op.execute(
        f"""CREATE TABLE "{schema}".revoked_media (
            name text NOT NULL,
            version text NOT NULL,
            PRIMARY KEY (name, version)
        )"""
    )
    # Null times: a lift that arrived before its declaration (never on one partition, but
    # cheap to allow).
    op.execute(
        f"""CREATE TABLE "{schema}".freezes (
            freeze_id uuid PRIMARY KEY,
            starts_at timestamptz,
            ends_at timestamptz,
            reason text NOT NULL DEFAULT '',
            environments text[] NOT NULL DEFAULT '{{}}',
            services text[] NOT NULL DEFAULT '{{}}',
            lifted boolean NOT NULL DEFAULT false
        )"""
    )
    op.execute(
        f"""CREATE TABLE "{schema}".deployed_releases (
            deployment_id uuid PRIMARY KEY,
            release_id uuid NOT NULL,
            environment text NOT NULL
        )"""
    )
    op.execute(
        f'CREATE INDEX deployed_releases_where ON "{schema}".deployed_releases '
        "(environment, release_id)"
    )
