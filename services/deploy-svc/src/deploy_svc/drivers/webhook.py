"""The `webhook` driver: hands a target's installation to external automation (Argo CD, a
Jenkins job, a CI pipeline) and waits for its signed result.

The request is a signed JSON POST to the target's `url` (see `Request`); the result comes
back signed either as a POST to `callback_url` (stored by `deploy_svc.api.webhooks`, so any
replica may receive it) or, with a `status_url`, as the answer to a GET polled there. The
automation's result covers verification too: `succeeded` means installed and verified, so
`verify` has nothing left to do. Each request carries an idempotency id (deployment, target,
action). A step run again (after a crash, or a retried rollback) takes a success already
received; otherwise it sends the request again under the same id, and the automation answers
with the result it has, or tries again what failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, ValidationError

from deploy_svc.adapters import webhook_results
from deploy_svc.adapters.webhook_results import Result
from deploy_svc.drivers import limits
from deploy_svc.drivers.base import BadTargetSettings, DriverError, Job
from deploy_svc.drivers.options import for_step, parse
from ferry import outbound, signing
from ferry.db import Database
from ferry.fields import Line, Notes

log = logging.getLogger(__name__)
Action = Literal["install", "roll_back"]
Text = Annotated[str, StringConstraints(max_length=4000)]
Version = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")]
"""A version as the DML names them: what an event may carry of the automation's answer."""
BODY_KEPT = 4000
"""How much of an answer's body the deployment log keeps (never an event)."""


class WebhookSettings(BaseModel):
    """A `webhook` target's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://")
    secret: str = Field(min_length=1)
    """The name of a secret in FERRY_DEPLOY_WEBHOOK_SECRETS; never the secret itself."""
    status_url: str | None = Field(None, pattern=r"^https?://")
    live_url: str | None = Field(None, pattern=r"^https?://")
    """Answers a GET with `{"version": ...}` (signed like the status): what is live, for
    drift checks; none, and drift is not checked on the target."""
    timeout_seconds: float = Field(600, gt=0, le=86_400)
    poll_seconds: float = Field(2, ge=0.1, le=3600)
    """How often the result is looked for (in the callbacks received, and at `status_url`)."""


class MediaItem(BaseModel):
    name: str
    sha256: str
    size: int


class Request(BaseModel):
    """What the automation is asked to do."""

    deployment_id: str
    target: str
    action: Action
    idempotency_id: str
    release_id: str
    version: str
    media: list[MediaItem]
    previous: str | None
    """For `roll_back`: the version to make live again."""
    callback_url: str


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    idempotency_id: Line
    """The request's, echoed: which request this answers."""
    detail: Notes | None = None
    """Kept in the deployment log, never in an event."""
    previous: Version | None = None
    """For `install`: the version live before it (recorded in `TargetDeployed`)."""


class Answer(_Reply):
    """The automation's result, as it calls back with it."""

    outcome: Literal["succeeded", "failed"]

    def result(self) -> Result:
        return Result(self.outcome, self.detail, self.previous)


class Status(_Reply):
    """What `status_url` answers: a result, or that there is none yet."""

    outcome: Literal["succeeded", "failed", "pending"]


def idempotency_id(job: Job, action: Action) -> str:
    return f"{job.deployment_id}:{job.target}:{action}"


def _media(media: Mapping[str, Path]) -> list[MediaItem]:
    items = []
    for name, path in sorted(media.items()):
        digest = hashlib.sha256()
        with path.open("rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
        items.append(MediaItem(name=name, sha256=digest.hexdigest(), size=path.stat().st_size))
    return items


class WebhookDriver:
    """Asks external automation over HTTP, and waits for its signed result."""

    name = "webhook"

    def __init__(
        self,
        db: Database,
        secrets: Mapping[str, SecretStr],
        public_url: str,
        client: httpx.AsyncClient | None = None,
        *,
        url_prefixes: tuple[str, ...] = (),
    ) -> None:
        self._db = db
        self._secrets = secrets
        self._url_prefixes = url_prefixes
        self._public_url = public_url.rstrip("/")
        self._client = client

    def check(self, settings: Mapping[str, object]) -> None:
        self._checked(settings)

    def _checked(self, settings: Mapping[str, object]) -> WebhookSettings:
        """The settings, if the operator's URL prefixes allow them and the secret exists."""
        found = parse(WebhookSettings, settings)
        limits.url_allowed("url", found.url, self._url_prefixes)
        if found.status_url is not None:
            limits.url_allowed("status_url", found.status_url, self._url_prefixes)
        if found.live_url is not None:
            limits.url_allowed("live_url", found.live_url, self._url_prefixes)
        self._secret(found)
        return found

    async def install(self, job: Job) -> str | None:
        return (await self._deliver(job, "install", None)).previous

    async def verify(self, job: Job) -> None:
        """Nothing to do: the automation verified before it reported success."""

    async def roll_back(self, job: Job, previous: str | None) -> None:
        await self._deliver(job, "roll_back", previous)

    async def live(self, settings: Mapping[str, object]) -> str | None:
        """What `live_url` answers, signed with the target's secret."""
        checked = for_step(self._checked, settings)
        if checked.live_url is None:
            raise DriverError("no live_url: what is live cannot be told")
        async with self._http() as client:
            try:
                answer = await client.get(checked.live_url)
            except httpx.HTTPError as exc:
                raise DriverError(f"{checked.live_url} cannot be reached") from exc
        if not answer.is_success:
            raise DriverError(f"{checked.live_url} answered {answer.status_code}")
        try:
            signing.verify(self._secret(checked), answer.content, answer.headers)
            return Live.model_validate_json(answer.content).version
        except (signing.BadSignature, ValidationError) as exc:
            raise DriverError(f"{checked.live_url} answered what cannot be trusted") from exc

    def _secret(self, settings: WebhookSettings) -> bytes:
        found = self._secrets.get(settings.secret)
        if found is None:
            raise BadTargetSettings(
                "secret", f"no secret {settings.secret!r} in FERRY_DEPLOY_WEBHOOK_SECRETS"
            )
        return found.get_secret_value().encode()

    async def _deliver(self, job: Job, action: Action, previous: str | None) -> Result:
        settings = for_step(self._checked, job.settings)
        secret = self._secret(settings)
        ident = idempotency_id(job, action)
        deadline = time.monotonic() + settings.timeout_seconds
        async with self._db.unit_of_work() as uow:
            done = await webhook_results.expect(
                uow, job.deployment_id, job.target, action, ident, settings.secret, _now()
            )
            await uow.commit()
        if done is None:
            # No success yet: (re)send under the same idempotency id, which the automation
            # uses to tell a repeat from a new request.
            request = Request(
                deployment_id=str(job.deployment_id),
                target=job.target,
                action=action,
                idempotency_id=ident,
                release_id=str(job.artifacts.release_id),
                version=job.artifacts.version,
                media=await asyncio.to_thread(_media, job.artifacts.media),
                previous=previous,
                callback_url=f"{self._public_url}/webhooks/{job.deployment_id}/"
                f"{quote(job.target, safe='')}",
            )
            async with self._http() as client:
                await _send(client, settings, secret, request, deadline, job.log)
                done = await self._wait(client, settings, secret, job, action, deadline)
        if done.outcome != "succeeded":
            # The automation's own words stay out of the event: they are a remote answer.
            job.log.append(f"{settings.url} reports the {action} failed: {done.detail}")
            raise DriverError(f"{settings.url} reports the {action} failed (detail in the log)")
        return done

    @contextlib.asynccontextmanager
    async def _http(self) -> AsyncIterator[httpx.AsyncClient]:
        if self._client is not None:
            yield self._client
        else:
            async with outbound.client(timeout=30, follow_redirects=False) as client:
                yield client

    async def _wait(
        self,
        client: httpx.AsyncClient,
        settings: WebhookSettings,
        secret: bytes,
        job: Job,
        action: Action,
        deadline: float,
    ) -> Result:
        """The result, from a callback or `status_url`; `DriverError` at the deadline."""
        ident = idempotency_id(job, action)
        while True:
            async with self._db.unit_of_work() as uow:
                found = await webhook_results.result(uow, ident)
            if found is None and settings.status_url is not None:
                found = await _poll(client, settings.status_url, secret, job, action, job.log)
                if found is not None:
                    # Kept as a callback would be: a repeated step finds it without asking.
                    # Should a callback have brought another result meanwhile, the first wins.
                    async with self._db.unit_of_work() as uow:
                        await webhook_results.record(
                            uow, job.deployment_id, job.target, ident, found, _now()
                        )
                        await uow.commit()
                        found = await webhook_results.result(uow, ident)
            if found is not None:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise DriverError(
                    f"no result from {settings.url} within {settings.timeout_seconds:g}s"
                )
            await asyncio.sleep(min(settings.poll_seconds, left))


def _now() -> datetime:
    return datetime.now(UTC)


async def _send(
    client: httpx.AsyncClient,
    settings: WebhookSettings,
    secret: bytes,
    request: Request,
    deadline: float,
    notes: list[str],
) -> None:
    """POST the signed request; retried on failures that may pass, until the deadline.
    A redirect is a refusal: followed, it could lead past the operator's URL prefixes."""
    body = request.model_dump_json().encode()
    while True:
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": request.idempotency_id,
            **signing.sign(secret, body),
        }
        try:
            answer = await client.post(
                settings.url, content=body, headers=headers, follow_redirects=False
            )
        except httpx.HTTPError as exc:
            problem = type(exc).__name__
            notes.append(f"POST {settings.url} failed: {exc!r}")
        else:
            if answer.is_success:
                return
            notes.append(
                f"POST {settings.url} answered {answer.status_code}:\n{answer.text[:BODY_KEPT]}"
            )
            if answer.status_code < 500 and answer.status_code != 429:
                raise DriverError(
                    f"{settings.url} refused the {request.action} request: {answer.status_code}"
                )
            problem = f"status {answer.status_code}"
        # Unreachable or overloaded: the same idempotency id makes a retry safe.
        left = deadline - time.monotonic()
        if left <= 0:
            raise DriverError(f"cannot hand the {request.action} to {settings.url}: {problem}")
        log.warning("webhook %s: %s; retrying", settings.url, problem)
        await asyncio.sleep(min(settings.poll_seconds, left))


class Live(BaseModel):
    """What `live_url` answers."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Version | None


async def _poll(
    client: httpx.AsyncClient,
    url: str,
    secret: bytes,
    job: Job,
    action: Action,
    notes: list[str],
) -> Result | None:
    """The result `url` reports, or None while it has none (or cannot be reached)."""
    ident = idempotency_id(job, action)
    query = {
        "deployment_id": str(job.deployment_id),
        "target": job.target,
        "action": action,
        "idempotency_id": ident,
    }
    try:
        answer = await client.get(url, params=query, follow_redirects=False)
    except httpx.HTTPError as exc:
        log.warning("status %s unreachable: %r", url, exc)
        return None
    if not answer.is_success:
        log.warning("status %s answered %s", url, answer.status_code)
        return None
    try:
        signing.verify(secret, answer.content, answer.headers)
        status = Status.model_validate_json(answer.content)
    except (signing.BadSignature, ValidationError) as exc:
        # Not to be waited out: a wrong secret or a broken status page stays so.
        notes.append(f"GET {url}: {exc}\n{answer.text[:BODY_KEPT]}")
        what = "a bad signature" if isinstance(exc, signing.BadSignature) else "no status"
        raise DriverError(f"{url} answered what cannot be trusted: {what}") from exc
    if status.idempotency_id != ident:
        notes.append(f"GET {url} answered for {status.idempotency_id}, not {ident}")
        raise DriverError(f"{url} answered for another request than {ident}")
    if status.outcome == "pending":
        return None
    return Result(status.outcome, status.detail, status.previous)
