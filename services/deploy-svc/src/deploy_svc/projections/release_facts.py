"""The release facts in PostgreSQL: written by `deploy_svc.consumers` from the other services'
events (and deploy-svc's own completed deployments), read when a deployment plan is judged.

Every writer is an upsert or a whole replacement, so each is safe to apply in any order
relative to events of other topics, and to apply again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from deploy_svc.domain.facts import UNLIMITED, BuiltPackage, ReleaseFacts, RiskLimits, Window
from ferry.db import UnitOfWork
from ferry.events.release import BackoutStep, BackoutTrigger, Level, MediaRef
from ferry.events.strategy import Strategy
from ferry.freezes import FreezePeriod
from ferry.manifest import SignedManifest


def _t(uow: UnitOfWork, table: str) -> str:
    return f'"{uow.schema}".{table}'


async def _upsert(uow: UnitOfWork, release_id: UUID, **columns: Any) -> None:
    # Column names come from this module only, never from an event.
    names = list(columns)
    placeholders = ", ".join(f"${i}" for i in range(2, len(names) + 2))
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names)
    await uow.execute(
        f"INSERT INTO {_t(uow, 'release_facts')} (release_id, {', '.join(names)}) "
        f"VALUES ($1, {placeholders}) ON CONFLICT (release_id) DO UPDATE SET {updates}",
        release_id,
        *columns.values(),
    )


# --- Writers -----------------------------------------------------------------------------


async def planned(
    uow: UnitOfWork, release_id: UUID, identifier: str, version: str, team: str | None
) -> None:
    await _upsert(uow, release_id, identifier=identifier, version=version, team=team)


async def cancelled(uow: UnitOfWork, release_id: UUID) -> None:
    await _upsert(uow, release_id, cancelled=True)


async def scope(
    uow: UnitOfWork, release_id: UUID, services: Iterable[str], configuration_items: Iterable[str]
) -> None:
    await _upsert(
        uow,
        release_id,
        services=sorted(set(services)),
        configuration_items=sorted(set(configuration_items)),
    )


async def dependencies(uow: UnitOfWork, release_id: UUID, depends_on: Iterable[UUID]) -> None:
    await _upsert(uow, release_id, depends_on=sorted(set(depends_on)))


async def approved(
    uow: UnitOfWork,
    release_id: UUID,
    approvers: Iterable[str],
    segregation: Iterable[str],
    built_by: str = "",
    validated_by: Iterable[str] = (),
    readiness: Iterable[str] = (),
    risk: RiskLimits = UNLIMITED,
) -> None:
    """Who filled the approved package's gates, the rules keeping them apart, what must be
    ready before production, and what its risk asks of production deployments."""
    await _upsert(
        uow,
        release_id,
        approvers=sorted(set(approvers)),
        segregation=sorted(set(segregation)),
        built_by=built_by,
        validated_by=sorted(set(validated_by)),
        readiness_required=sorted(set(readiness)),
        risk_level=risk.level and str(risk.level),
        least_strategy=str(risk.least_strategy),
        min_soak_seconds=risk.min_soak_seconds,
    )


async def package_built(
    uow: UnitOfWork, release_id: UUID, revision: int, media: Iterable[MediaRef], built_by: str
) -> None:
    """The release's package, replacing an earlier one (a later revision only: events of
    one release come in order, but a replay must not go back)."""
    await uow.execute(
        f"INSERT INTO {_t(uow, 'release_facts')} AS f "
        "(release_id, package_revision, package_media, package_built_by) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (release_id) DO UPDATE SET "
        "package_revision = $2, package_media = $3, package_built_by = $4 "
        "WHERE f.package_revision IS NULL OR f.package_revision < $2",
        release_id,
        revision,
        [m.model_dump(mode="json") for m in media],
        built_by,
    )


async def backout_plan(
    uow: UnitOfWork,
    release_id: UUID,
    triggers: Iterable[BackoutTrigger],
    steps: Iterable[BackoutStep],
) -> None:
    """The release's backout plan, replacing the earlier one."""
    await _upsert(
        uow,
        release_id,
        backout_triggers=[t.model_dump(mode="json") for t in triggers],
        backout_steps=[s.model_dump(mode="json") for s in steps],
    )


async def readiness_confirmed(uow: UnitOfWork, release_id: UUID, item: str) -> None:
    await uow.execute(
        f"INSERT INTO {_t(uow, 'release_facts')} AS f (release_id, readiness_confirmed) "
        "VALUES ($1, ARRAY[$2]) ON CONFLICT (release_id) DO UPDATE SET readiness_confirmed = "
        "ARRAY(SELECT DISTINCT unnest(f.readiness_confirmed || $2) ORDER BY 1)",
        release_id,
        item,
    )


async def windows(
    uow: UnitOfWork,
    release_id: UUID,
    per_environment: Mapping[str, Window],
    overridden_freezes: Iterable[UUID],
) -> None:
    """The release's windows, replacing the earlier ones."""
    await _upsert(uow, release_id, overridden_freezes=sorted(set(overridden_freezes)))
    table = _t(uow, "release_windows")
    await uow.execute(f"DELETE FROM {table} WHERE release_id = $1", release_id)
    await uow.execute(
        f"INSERT INTO {table} (release_id, environment, starts_at, ends_at) "
        "SELECT $1, * FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[])",
        release_id,
        list(per_environment),
        [w.start for w in per_environment.values()],
        [w.end for w in per_environment.values()],
    )


async def available(
    uow: UnitOfWork,
    release_id: UUID,
    signed: SignedManifest,
    media: Iterable[tuple[str, str]],
) -> None:
    """The DML made the release available: its signed manifest, and the (name, version) of
    each of its media, which a `MediaRevoked` is matched against."""
    await _upsert(
        uow, release_id, manifest=signed.manifest, signature=signed.signature, key_id=signed.key_id
    )
    table = _t(uow, "release_media")
    await uow.execute(f"DELETE FROM {table} WHERE release_id = $1", release_id)
    items = sorted(set(media))
    await uow.execute(
        f"INSERT INTO {table} (release_id, name, version) "
        "SELECT $1, * FROM unnest($2::text[], $3::text[])",
        release_id,
        [name for name, _ in items],
        [version for _, version in items],
    )


async def release_revoked(uow: UnitOfWork, release_id: UUID) -> None:
    # For good: a later ReleaseAvailable does not undo it.
    await _upsert(uow, release_id, revoked=True)


async def media_revoked(uow: UnitOfWork, name: str, version: str) -> None:
    # Kept apart from the releases: their manifests may arrive after this.
    await uow.execute(
        f"INSERT INTO {_t(uow, 'revoked_media')} (name, version) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING",
        name,
        version,
    )


async def freeze_declared(uow: UnitOfWork, freeze: FreezePeriod) -> None:
    await uow.execute(
        f"INSERT INTO {_t(uow, 'freezes')} "
        "(freeze_id, starts_at, ends_at, reason, environments, services) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (freeze_id) DO UPDATE SET "
        "starts_at = $2, ends_at = $3, reason = $4, environments = $5, services = $6",
        freeze.freeze_id,
        freeze.start,
        freeze.end,
        freeze.reason,
        sorted(freeze.environments),
        sorted(freeze.services),
    )


async def freeze_lifted(uow: UnitOfWork, freeze_id: UUID) -> None:
    await uow.execute(
        f"INSERT INTO {_t(uow, 'freezes')} (freeze_id, lifted) VALUES ($1, true) "
        "ON CONFLICT (freeze_id) DO UPDATE SET lifted = true",
        freeze_id,
    )


async def deployment_completed(
    uow: UnitOfWork, deployment_id: UUID, release_id: UUID, environment: str
) -> None:
    await uow.execute(
        f"INSERT INTO {_t(uow, 'deployed_releases')} (deployment_id, release_id, environment) "
        "VALUES ($1, $2, $3) ON CONFLICT (deployment_id) DO NOTHING",
        deployment_id,
        release_id,
        environment,
    )


async def deployment_rolled_back(uow: UnitOfWork, deployment_id: UUID) -> None:
    """That deployment's release is no longer live where it went (other deployments of the
    same release to the same environment still count)."""
    await uow.execute(
        f"DELETE FROM {_t(uow, 'deployed_releases')} WHERE deployment_id = $1", deployment_id
    )


# --- Queries -----------------------------------------------------------------------------


async def facts(uow: UnitOfWork, release_id: UUID) -> ReleaseFacts | None:
    """What is known of the release; None until release-svc's `ReleasePlanned` arrived."""
    row = await uow.fetchrow(
        f"""SELECT f.*, f.revoked OR EXISTS (
                SELECT 1 FROM {_t(uow, "release_media")} m
                JOIN {_t(uow, "revoked_media")} r USING (name, version)
                WHERE m.release_id = f.release_id
            ) AS any_revoked
        FROM {_t(uow, "release_facts")} f WHERE f.release_id = $1""",
        release_id,
    )
    if row is None or row["identifier"] is None:
        return None
    windows = await uow.fetch(
        f"SELECT environment, starts_at, ends_at FROM {_t(uow, 'release_windows')} "
        "WHERE release_id = $1",
        release_id,
    )
    signed = (
        SignedManifest(row["manifest"], row["signature"], row["key_id"])
        if row["manifest"] is not None
        else None
    )
    return ReleaseFacts(
        release_id=release_id,
        identifier=row["identifier"],
        version=row["version"],
        cancelled=row["cancelled"],
        windows={w["environment"]: Window(w["starts_at"], w["ends_at"]) for w in windows},
        overridden_freezes=frozenset(row["overridden_freezes"]),
        depends_on=frozenset(row["depends_on"]),
        approvers=frozenset(row["approvers"]),
        built_by=row["built_by"],
        validated_by=frozenset(row["validated_by"]),
        segregation=frozenset(row["segregation"]),
        services=frozenset(row["services"]),
        configuration_items=frozenset(row["configuration_items"]),
        available=signed,
        revoked=row["any_revoked"],
        readiness_open=frozenset(row["readiness_required"]) - set(row["readiness_confirmed"]),
        package=BuiltPackage(
            revision=row["package_revision"],
            media=tuple(MediaRef(**m) for m in row["package_media"]),
            built_by=row["package_built_by"],
        )
        if row["package_revision"] is not None
        else None,
        team=row["team"],
        backout_steps=tuple(BackoutStep(**step) for step in row["backout_steps"]),
        backout_triggers=tuple(BackoutTrigger(**t) for t in row["backout_triggers"]),
        risk=RiskLimits(
            Level(row["risk_level"]) if row["risk_level"] else None,
            Strategy(row["least_strategy"] or Strategy.BIG_BANG),
            row["min_soak_seconds"],
        ),
    )


async def freezes_in_force(
    uow: UnitOfWork, *, ending_after: datetime | None = None
) -> list[FreezePeriod]:
    """Freezes declared and not lifted, in the order they start; with `ending_after`, only
    those that end after it (the others can cover no deployment from then on)."""
    rows = await uow.fetch(
        f"SELECT * FROM {_t(uow, 'freezes')} WHERE NOT lifted AND starts_at IS NOT NULL "
        "AND ($1::timestamptz IS NULL OR ends_at > $1) ORDER BY starts_at, freeze_id",
        ending_after,
    )
    return [
        FreezePeriod(
            freeze_id=r["freeze_id"],
            start=r["starts_at"],
            end=r["ends_at"],
            reason=r["reason"],
            environments=frozenset(r["environments"]),
            services=frozenset(r["services"]),
        )
        for r in rows
    ]


async def deployed_to(
    uow: UnitOfWork, release_ids: Collection[UUID], environment: str
) -> set[UUID]:
    """Those of `release_ids` with a completed (and not rolled back) deployment there."""
    rows = await uow.fetch(
        f"SELECT DISTINCT release_id FROM {_t(uow, 'deployed_releases')} "
        "WHERE environment = $1 AND release_id = ANY($2::uuid[])",
        environment,
        list(release_ids),
    )
    return {r["release_id"] for r in rows}


async def identifiers(uow: UnitOfWork, release_ids: Collection[UUID]) -> dict[UUID, str]:
    """The identifiers (REL-…) of those of `release_ids` known here, to name them in refusals."""
    rows = await uow.fetch(
        f"SELECT release_id, identifier FROM {_t(uow, 'release_facts')} "
        "WHERE identifier IS NOT NULL AND release_id = ANY($1::uuid[])",
        list(release_ids),
    )
    return {r["release_id"]: r["identifier"] for r in rows}
