"""Consuming other services' events: each applied at most once, in its own transaction.

An event of a type `ferry.eventsigning.OWNERS` lists (a decision, or a fact a rule reads) is
applied only if signed by its owner; one that is not is recorded instead, as a
`ForeignEventRejected` in the consumer's own event store.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from uuid import UUID, uuid5

from asgi_correlation_id import correlation_id
from opentelemetry.trace import SpanKind

from ferry import metrics
from ferry.db import Database, UnitOfWork
from ferry.envelope import Envelope, Meta
from ferry.errors import ConcurrencyError, FerryError
from ferry.events import REGISTRY, Event
from ferry.events.base import UnreadableEvent
from ferry.events.trust import ForeignEventRejected
from ferry.eventsigning import TrustedKeys
from ferry.kafka import Position
from ferry.tracing import context_of, current_traceparent, tracer

log = logging.getLogger(__name__)
_REJECTED = UUID("5d0c1a52-1f3b-4b8e-9a64-0f6b0e8c2f14")
"""The namespace of the inbox claims of refused records (see `Dispatcher._reject`)."""

EventHandler = Callable[[Any, Envelope, UnitOfWork], Awaitable[None]]
"""Applies one event of another service inside `uow`; the caller claims and commits."""


class Dispatcher:
    """Turns a record into at most one applied event: parse, check, claim, handle, commit.

    `trusted`: the keys owned events must be signed with; by default none, so a dispatcher
    without them acts on no event another service owns.
    """

    def __init__(
        self,
        consumer: str,
        db: Database,
        handlers: Mapping[type[Event], EventHandler],
        trusted: TrustedKeys | None = None,
    ) -> None:
        self._consumer = consumer
        self._db = db
        self._handlers = handlers
        self._trusted = trusted or TrustedKeys({})

    async def __call__(self, envelope: Envelope, position: Position) -> None:
        try:
            event = REGISTRY.parse(envelope)
        except UnreadableEvent as exc:
            log.error("skipping unreadable event: %s", exc)
            return self._count(envelope, "unreadable")
        handler = self._handlers.get(type(event)) if event is not None else None
        if event is None or handler is None:
            return self._count(envelope, "ignored")
        if (reason := self._trusted.refusal(envelope)) is not None:
            return self._count(envelope, await self._reject(envelope, position, reason))
        token = correlation_id.set(envelope.correlationid)
        try:
            with tracer.start_as_current_span(
                f"consume {envelope.type}",
                context=context_of(envelope.traceparent),
                kind=SpanKind.CONSUMER,
                attributes={
                    "ferry.consumer": self._consumer,
                    "cloudevents.event_id": str(envelope.id),
                },
            ):
                self._count(envelope, await self._apply(handler, event, envelope))
        finally:
            correlation_id.reset(token)

    async def _apply(self, handler: EventHandler, event: Event, envelope: Envelope) -> str:
        async with self._db.unit_of_work() as uow:
            # The claim commits with the handler's changes: a redelivery finds it and stops.
            if not await uow.inbox.claim(envelope.id, self._consumer):
                return "duplicate"
            try:
                await handler(event, envelope, uow)
            except ConcurrencyError:
                raise  # another writer moved the stream: the consumer retries the record
            except FerryError as exc:
                # A rule refused it: retrying cannot help, so record it as handled.
                log.warning("%s refused %s %s: %s", self._consumer, envelope.type, envelope.id, exc)
                await uow.rollback()
                await uow.begin()
                await uow.inbox.claim(envelope.id, self._consumer)
                await uow.commit()
                return "rejected"
            await uow.commit()
            return "applied"

    async def _reject(self, envelope: Envelope, position: Position, reason: str) -> str:
        """Record, instead of applying, an event this consumer must not act on."""
        rejected = ForeignEventRejected(
            consumer=self._consumer,
            event_type=envelope.type,
            event_id=envelope.id,
            source=envelope.source,
            subject=envelope.subject,
            signingkey=envelope.signingkey,
            topic=position.topic,
            partition=position.partition,
            offset=position.offset,
            reason=reason,
        )
        # The claim is the record's, not the event id's: a forged copy of a genuine event
        # (its id seen on the topic, published again) must not claim the genuine one's id
        # before it is read. A redelivered record has the same position, so the claim,
        # committed with the refusal, makes a redelivery change nothing.
        claim = uuid5(_REJECTED, f"{self._consumer}:{position}")
        async with self._db.unit_of_work() as uow:
            if not await uow.inbox.claim(claim, self._consumer):
                return "duplicate"
            meta = caused_by(envelope, f"service:{self._db.source}")
            await uow.events.append(rejected.stream_id(), 0, [rejected], meta)
            await uow.commit()
        log.warning(
            "%s rejected %s %s from %s at %s: %s",
            self._consumer,
            envelope.type,
            envelope.id,
            envelope.source,
            position,
            reason,
        )
        metrics.FOREIGN_EVENTS_REJECTED.labels(self._consumer, envelope.type, envelope.source).inc()
        return "untrusted"

    def _count(self, envelope: Envelope, outcome: str) -> None:
        metrics.EVENTS_CONSUMED.labels(self._consumer, envelope.type, outcome).inc()


def caused_by(envelope: Envelope, actor: str) -> Meta:
    """Metadata for an event a consumer appends because of `envelope`."""
    return Meta(
        actor=actor,
        correlation_id=envelope.correlationid,
        causation_id=str(envelope.id),
        traceparent=current_traceparent(),
    )
