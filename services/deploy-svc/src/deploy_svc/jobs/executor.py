"""The executor: runs due deployments step by step, each step's outcome an event.

Each replica's executor leases one due deployment at a time (`projections.deployments.claim`),
so only one runs it; the lease is renewed at every step and lapses if the process dies
(even by `kill -9`), when another replica, or this one restarted, takes the deployment up
from its events: targets already done are not redone.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from deploy_svc.adapters.backout_webhooks import BackoutWebhooks, WebhookRefused
from deploy_svc.adapters.deployment_log import DeploymentLog
from deploy_svc.domain import deployment as steps
from deploy_svc.domain.deployment import Deployment
from deploy_svc.domain.environment import Environment
from deploy_svc.domain.facts import ReleaseFacts, Window
from deploy_svc.domain.plans import check_production_gate, check_release
from deploy_svc.domain.redaction import brief
from deploy_svc.drivers.base import Artifacts, Driver, DriverError, Job
from deploy_svc.handlers.deployments import deployment_stream, get_deployment
from deploy_svc.handlers.environments import load_environment
from deploy_svc.projections import deployments, release_facts, targets
from ferry.db import Database, UnitOfWork
from ferry.envelope import Meta
from ferry.errors import ConcurrencyError, FerryError
from ferry.events.deploy import DeploymentEvent, TargetDeployed, TargetRolledBack
from ferry.events.release import BackoutStep

log = logging.getLogger(__name__)
ACTOR = "service:deploy-svc"

Fetch = Callable[[ReleaseFacts, int | None], Awaitable[Artifacts]]
"""Fetch a release's media from the DML and verify them: its built package of that revision
(staged media), or, with None, what the DML made available; raises with the reason if not."""


class Executor:
    def __init__(
        self,
        drivers: Mapping[str, Driver],
        fetch: Fetch,
        *,
        lease_seconds: float = 30.0,
        poll_seconds: float = 1.0,
        parallel: int = 8,
        log: DeploymentLog | None = None,
        webhooks: BackoutWebhooks | None = None,
    ) -> None:
        self._drivers = drivers
        self._fetch = fetch
        self._webhooks = webhooks or BackoutWebhooks({})
        self._log = log
        self._lease = timedelta(seconds=lease_seconds)
        self._poll = poll_seconds
        self._parallel = parallel
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{uuid4().hex[:8]}"

    async def run(self, db: Database) -> None:
        """Run due deployments until cancelled, up to `parallel` at once: a long soak in
        one holds up no other due deployment."""
        running: dict[UUID, asyncio.Task[None]] = {}
        try:
            while True:
                try:
                    while len(running) < self._parallel and (
                        found := await self._claim(db, list(running))
                    ):
                        task = asyncio.create_task(self._drive_logged(db, found))
                        running[found] = task
                        task.add_done_callback(functools.partial(_forget, running, found))
                except Exception:
                    log.exception("executor: the pass failed; trying again")
                await asyncio.sleep(self._poll)
        finally:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)

    async def _drive_logged(self, db: Database, deployment_id: UUID) -> None:
        try:
            await self.drive(db, deployment_id)
        except Exception:
            log.exception("executor: deployment %s failed a step; it is retried", deployment_id)

    async def _claim(self, db: Database, driving: list[UUID]) -> UUID | None:
        async with db.unit_of_work() as uow:
            now = datetime.now(UTC)
            found = await deployments.claim(uow, self.owner, now, now + self._lease, driving)
            await uow.commit()
        return found

    async def _renew(self, db: Database, deployment_id: UUID) -> bool:
        async with db.unit_of_work() as uow:
            kept = await deployments.renew(
                uow, deployment_id, self.owner, datetime.now(UTC) + self._lease
            )
            await uow.commit()
        return kept

    async def drive(self, db: Database, deployment_id: UUID) -> None:
        """Take the deployment's next steps until it waits, ends or the lease is lost."""
        run = _Run(db, deployment_id, self._log)
        try:
            while await self._renew(db, deployment_id):
                deployment = await run.load()
                now = datetime.now(UTC)
                step = deployment.decide_next(now)
                if isinstance(step, steps.Wait):
                    return
                if isinstance(step, steps.AwaitWindow) and not await run.in_window(deployment, now):
                    return
                try:
                    if not await self._with_heartbeat(db, deployment_id, run, deployment, step):
                        return  # the lease lapsed: another replica has the deployment now
                except ConcurrencyError:
                    run.forget()  # paused, aborted or rolled back meanwhile: decide again
        finally:
            async with db.unit_of_work() as uow:
                await deployments.release(uow, deployment_id, self.owner)
                await uow.commit()

    async def _with_heartbeat(
        self,
        db: Database,
        deployment_id: UUID,
        run: _Run,
        deployment: Deployment,
        step: steps.Step,
    ) -> bool:
        """Take `step`, renewing the lease while it runs (a rollout or a webhook may take
        longer than the lease); False if the lease was lost, the step then cancelled."""
        beat = self._lease.total_seconds() / 3

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(beat)
                if not await self._renew(db, deployment_id):
                    return

        taking = asyncio.create_task(self._take(run, deployment, step))
        beating = asyncio.create_task(heartbeat())
        try:
            await asyncio.wait({taking, beating}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            beating.cancel()
            if not taking.done():
                taking.cancel()
            await asyncio.gather(beating, return_exceptions=True)
        if taking.cancelled():
            return False
        taking.result()  # raises what the step raised
        return True

    async def _take(self, run: _Run, deployment: Deployment, step: steps.Step) -> None:
        match step:
            case steps.Start():
                reason = await run.still_deployable(deployment, datetime.now(UTC))
                started = deployment.fail(reason, ()) if reason else deployment.start()
                await run.record(deployment, started)
            case steps.StartWave(wave=wave):
                now = datetime.now(UTC)
                window = await run.window(deployment)
                await run.record(deployment, deployment.start_wave(wave, window, now))
            case steps.AwaitWindow():
                now = datetime.now(UTC)
                window = await run.window(deployment)
                await run.record(deployment, deployment.resume_in_window(window, now, ACTOR))
            case steps.DeployTarget(wave=wave, target=target):
                job = await self._job(run, deployment, target)
                if isinstance(job, str):
                    failed = deployment.fail(brief(job, run.secrets()), await run.backout())
                    await run.record(deployment, failed)
                    return
                try:
                    previous = await self._driver(job, run).install(job)
                except DriverError as exc:
                    await run.note(job, "install", exc)
                    reason = brief(str(exc), run.secrets())
                    backout = await run.backout()
                    failed = deployment.target_failed(wave, target, reason, backout)
                    await run.record(deployment, failed)
                    return
                await run.note(job, "install")
                await run.record_fact(
                    deployment, lambda d: d.target_deployed(wave, target, previous)
                )
            case steps.VerifyWave(wave=wave, soak_seconds=soak):
                await self._verify(run, deployment, wave, soak)
            case steps.Complete():
                await run.record(deployment, deployment.complete(datetime.now(UTC)))
            case steps.RollBackTarget(target=target, previous=previous):
                job = await self._job(run, deployment, target, media=False)
                if isinstance(job, str):
                    raise DriverError(job)  # nothing to roll back with: retried, logged
                try:
                    await self._driver(job, run).roll_back(job, previous)
                except DriverError as exc:
                    await run.note(job, "roll_back", exc)
                    raise  # retried, as a rollback must finish
                await run.note(job, "roll_back")
                await run.record(deployment, deployment.target_rolled_back(target, previous))
            case steps.FinishStep(step=number):
                await run.record(deployment, deployment.finish_step(number, ACTOR))
            case steps.CallWebhook(step=number, webhook=name):
                await self._call_webhook(run, deployment, number, name)
            case steps.AwaitConfirmation(step=number):
                await run.record(deployment, deployment.await_confirmation(number))
            case steps.FinishRollback():
                await run.record(deployment, deployment.finish_rollback())

    async def _call_webhook(
        self, run: _Run, deployment: Deployment, number: int, name: str
    ) -> None:
        """A webhook step: done when the webhook takes it; else it waits for someone to do
        by hand what it would have, and confirm it."""
        payload = {
            "deployment_id": str(deployment.id),
            "release_id": str(deployment.release_id),
            "environment": deployment.environment,
            "version": deployment.release_version,
            "step": number,
            "reason": deployment.reason,
        }
        try:
            answer = await self._webhooks.call(name, f"{deployment.id}-backout-{number}", payload)
        except WebhookRefused as exc:
            await run.record(deployment, deployment.await_confirmation(number, str(exc)))
            return
        await run.record(deployment, deployment.finish_step(number, ACTOR, answer))

    async def _verify(self, run: _Run, deployment: Deployment, wave: int, soak: float) -> None:
        """Verify each target of the wave, let it soak (still holding the lease), verify
        again: a problem that shows only under load fails the wave too."""
        for check in ("before", "after") if soak else ("before",):
            if check == "after" and not await self._soak(run, soak):
                return
            for target in deployment.waves[wave].targets:
                job = await self._job(run, deployment, target)
                if isinstance(job, str):
                    failed = deployment.fail(brief(job, run.secrets()), await run.backout())
                    await run.record(deployment, failed)
                    return
                try:
                    await self._driver(job, run).verify(job)
                except DriverError as exc:
                    await run.note(job, "verify", exc)
                    reason = brief(f"verification failed: {exc}", run.secrets())
                    backout = await run.backout()
                    failed = deployment.target_failed(wave, target, reason, backout)
                    await run.record(deployment, failed)
                    return
                await run.note(job, "verify")
        await run.record(deployment, deployment.wave_verified(wave))

    async def _soak(self, run: _Run, seconds: float) -> bool:
        """Wait `seconds`, renewing the lease; False if it was lost or the deployment was
        paused or stopped meanwhile."""
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            await asyncio.sleep(min(left, self._lease.total_seconds() / 3))
            if not await self._renew(run.db, run.deployment_id):
                return False
            current = await run.load(fresh=True)
            if current.paused or current.state is not steps.State.RUNNING:
                return False
        return True

    async def _job(
        self, run: _Run, deployment: Deployment, target: str, *, media: bool = True
    ) -> Job | str:
        """The target's job, or why there can be none (the reason fails the deployment).
        A rollback needs no media (`media=False`): it must work even once the release is
        revoked or the DML is unreachable."""
        environment = await run.environment(deployment.environment)
        spec = environment.target(target)
        if spec is None:
            return f"{target} is no longer a target of {deployment.environment}"
        if spec.driver not in self._drivers:
            return f"{target}: the driver {spec.driver} is not enabled (FERRY_DEPLOY_DRIVERS)"
        if not media:
            assert deployment.release_id is not None
            nothing = Artifacts(deployment.release_id, deployment.release_version, {})
            return Job(deployment.id, target, spec.settings, nothing)
        try:
            artifacts = await run.artifacts(self._fetch, deployment.package_revision)
        except Exception as exc:  # the library refused: nothing may be installed
            return f"the release's media did not verify: {exc}"
        return Job(deployment.id, target, spec.settings, artifacts)

    def _driver(self, job: Job, run: _Run) -> Driver:
        return self._drivers[run.driver_of[job.target]]


async def _keep_live(uow: UnitOfWork, deployment: Deployment, event: DeploymentEvent) -> None:
    """What Ferry made live on a target, for drift checks to compare with."""
    now = datetime.now(UTC)
    if isinstance(event, TargetDeployed):
        version: str | None = deployment.release_version
    elif isinstance(event, TargetRolledBack):
        version = event.version
    else:
        return
    await targets.switched(uow, deployment.environment, event.target, version, deployment.id, now)


def _forget(running: dict[UUID, asyncio.Task[None]], done: UUID, _: object) -> None:
    running.pop(done, None)


class _Run:
    """One drive of one deployment: what it loads once, and how it records."""

    def __init__(self, db: Database, deployment_id: UUID, log: DeploymentLog | None) -> None:
        self.db = db
        self.deployment_id = deployment_id
        self.log = log
        self.meta = Meta(actor=ACTOR, correlation_id=f"deployment-{deployment_id}")
        self.driver_of: dict[str, str] = {}
        self._artifacts: Artifacts | None = None
        self._release: UUID | None = None
        self._deployment: Deployment | None = None
        self._environment: Environment | None = None

    async def load(self, *, fresh: bool = False) -> Deployment:
        """The deployment: as this run left it, unless `fresh` or forgotten. Kept between
        steps, so a step costs the same at the 500th target as at the first."""
        if self._deployment is None or fresh:
            async with self.db.unit_of_work() as uow:
                self._deployment = await get_deployment(uow, self.deployment_id)
            self._release = self._deployment.release_id
        return self._deployment

    def forget(self) -> None:
        """Someone else changed the deployment: read it again before the next step."""
        self._deployment = None

    async def environment(self, name: str) -> Environment:
        """The environment, as it was when this run first needed it."""
        if self._environment is None:
            async with self.db.unit_of_work() as uow:
                self._environment = await load_environment(uow, name)
            self.driver_of = {t.name: t.driver for t in self._environment.targets}
        return self._environment

    def secrets(self) -> list[str]:
        """The service's secret values, which no reason in an event may carry."""
        return self.log.secrets() if self.log is not None else []

    async def note(self, job: Job, step: str, failure: DriverError | None = None) -> None:
        """Keep what the step had to say, and its failure's reason, in the deployment log.
        Written before the event that points there; a step repeated writes again."""
        texts = list(job.log) + ([f"failed: {failure}"] if failure else [])
        if self.log is None or not texts:
            return
        async with self.db.unit_of_work() as uow:
            for text in texts:
                at = datetime.now(UTC)
                await self.log.append(uow, job.deployment_id, job.target, step, text, at)
            await uow.commit()
        job.log.clear()

    async def still_deployable(self, deployment: Deployment, now: datetime) -> str | None:
        """Why the deployment may no longer start now (None: it may)."""
        assert deployment.release_id is not None
        async with self.db.unit_of_work() as uow:
            facts = await release_facts.facts(uow, deployment.release_id)
            freezes = await release_facts.freezes_in_force(uow)
            # As it is now, not as this run may have read it: it may be production since.
            environment = await load_environment(uow, deployment.environment)
        if facts is None:
            return "deploy-svc no longer knows the release"
        try:
            check_release(facts, environment, freezes, now)
            check_production_gate(facts, environment, deployment.requested_by)
        except FerryError as exc:
            return f"no longer deployable at {now.isoformat()}: {exc}"
        return None

    async def backout(self) -> tuple[BackoutStep, ...]:
        """The release's backout plan, as it is now."""
        assert self._release is not None
        async with self.db.unit_of_work() as uow:
            facts = await release_facts.facts(uow, self._release)
        return facts.backout_steps if facts else ()

    async def window(self, deployment: Deployment) -> Window | None:
        """The release's window for the deployment's environment, as it is now."""
        assert deployment.release_id is not None
        async with self.db.unit_of_work() as uow:
            facts = await release_facts.facts(uow, deployment.release_id)
        return (facts.windows or {}).get(deployment.environment) if facts else None

    async def in_window(self, deployment: Deployment, now: datetime) -> bool:
        window = await self.window(deployment)
        return window is not None and window.holds(now)

    async def artifacts(self, fetch: Fetch, package_revision: int | None) -> Artifacts:
        if self._artifacts is None:
            assert self._release is not None
            async with self.db.unit_of_work() as uow:
                facts = await release_facts.facts(uow, self._release)
            if facts is None:
                raise LookupError("deploy-svc no longer knows the release")
            self._artifacts = await fetch(facts, package_revision)
        return self._artifacts

    async def record_fact(
        self, deployment: Deployment, fact: Callable[[Deployment], Sequence[DeploymentEvent]]
    ) -> None:
        """Record what happened on a target whatever happened to the deployment meanwhile
        (a pause, an abort, a rollback asked for): a switched target must be known to be,
        or no rollback would switch it back."""
        try:
            await self.record(deployment, fact(deployment))
        except ConcurrencyError:
            current = await self.load(fresh=True)
            await self.record(current, fact(current))

    async def record(self, deployment: Deployment, new: Sequence[DeploymentEvent]) -> None:
        """Append what `deployment` decided, if no one changed it since it was loaded (else
        `ConcurrencyError`), and apply it."""
        async with self.db.unit_of_work() as uow:
            await uow.events.append(
                deployment_stream(deployment.id), deployment.version, new, self.meta
            )
            for event in new:
                deployment.apply(event)
                await _keep_live(uow, deployment, event)
            await deployments.save(uow, deployment)
            await uow.commit()
