"""Where external automation calls back with the result of a webhook target's request.

Authenticated by the request's HMAC signature with the secret the target names, not by a
bearer token (automation holds no Ferry identity). A deployment and target that await no
result answer 404 before any signature is looked at, so the path reveals nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from deploy_svc.adapters import webhook_results
from deploy_svc.adapters.webhook_results import Recorded
from deploy_svc.api.dependencies import DeploySettings
from deploy_svc.drivers.webhook import Answer
from ferry import signing
from ferry.auth import Capability
from ferry.errors import BadRequest, Conflict, InvalidField, NotFound, Unauthenticated
from ferry.http import problem_responses
from ferry.service import UoW

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
PROBLEMS = problem_responses(
    {
        400: "Malformed JSON, or a body over 64 KiB",
        401: "The signature or its timestamp does not verify",
        404: "No result is awaited from this deployment's target",
        409: "A different result was received before; the first stays",
        422: "Invalid field; `errors` names each",
    }
)


@dataclass(frozen=True)
class Signed:
    """A callback whose signature verified, with its raw body."""

    deployment_id: UUID
    target: str
    body: bytes


class SignedCallback(Capability):
    """A callback signed with the secret the target names (`FERRY_DEPLOY_WEBHOOK_SECRETS`);
    404 where none is awaited."""

    async def __call__(
        self, request: Request, deployment_id: str, target: str, settings: DeploySettings
    ) -> Signed:
        try:
            deployment = UUID(deployment_id)
        except ValueError:
            raise NotFound("no result is awaited here") from None
        async with request.app.state.db.unit_of_work() as uow:
            name = await webhook_results.secret_name(uow, deployment, target)
        if name is None:
            raise NotFound("no result is awaited here")
        body = await _body(request)
        secret = settings.webhook_secrets.get(name)
        if secret is None:
            log.error("webhook secret %r is not in FERRY_DEPLOY_WEBHOOK_SECRETS", name)
            raise Unauthenticated("this service cannot verify the signature")
        try:
            signing.verify(secret.get_secret_value().encode(), body, request.headers)
        except signing.BadSignature as exc:
            raise Unauthenticated(str(exc)) from exc
        return Signed(deployment, target, body)


async def _body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadRequest(f"the body is over {MAX_BODY} bytes")
    return bytes(body)


router = APIRouter(prefix="/webhooks", tags=["webhooks"])
Verified = Annotated[Signed, Depends(SignedCallback())]


@router.post(
    "/{deployment_id}/{target}",
    status_code=204,
    responses=PROBLEMS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": Answer.model_json_schema()}},
        }
    },
)
async def receive_webhook_result(uow: UoW, signed: Verified) -> Response:
    """The result of a request sent to a webhook target, signed as the request was:
    `X-Ferry-Timestamp` (Unix seconds, at most 5 minutes off) and `X-Ferry-Signature:
    sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`. The same result again changes
    nothing."""
    try:
        answer = Answer.model_validate_json(signed.body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc
    async with uow:
        recorded = await webhook_results.record(
            uow,
            signed.deployment_id,
            signed.target,
            answer.idempotency_id,
            answer.result(),
            datetime.now(UTC),
        )
        await uow.commit()
    if recorded is Recorded.UNKNOWN:
        raise InvalidField("idempotency_id", "no request of this target has this id")
    if recorded is Recorded.DIFFERENT:
        raise Conflict("a different result was received for this request before")
    return Response(status_code=204)
