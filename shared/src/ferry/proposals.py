"""Governance proposals' handlers and their table: propose, approve (recording the change
itself in the same transaction), reject, read and list. The caller commits.

Every service that governs something (`ServiceSpec.governs`) keeps a `proposals` table
(`ferry.migrations.create_proposals_table`), written in the unit of work that appends the
proposal's events and rebuildable from them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from uuid import UUID

import asyncpg
import orjson
from pydantic import TypeAdapter

from ferry.aggregate import at_version, existing, record
from ferry.db import UnitOfWork
from ferry.envelope import Meta
from ferry.errors import InvalidField
from ferry.events import REGISTRY
from ferry.events.governance import Effect, GovernedKind, ProposalEvent
from ferry.eventstore import WithEvents
from ferry.governance import Change, Proposal, ProposalState

Enact = Callable[[UnitOfWork, Proposal], Awaitable[None]]
"""What a service does once a proposal of one kind is approved, after its effect is
recorded on the governed stream: bring its read models up to date."""

Enactors = Mapping[GovernedKind, Enact]


def stream_id(proposal_id: UUID) -> str:
    return f"{ProposalEvent.stream_prefix}-{proposal_id}"


async def subject_version(uow: WithEvents, subject: str) -> int:
    """The governed stream's version now."""
    return (await uow.events.replay(subject, REGISTRY)).version


async def get(uow: WithEvents, proposal_id: UUID) -> Proposal:
    missing = f"no proposal {proposal_id}"
    return await existing(
        uow.events, stream_id(proposal_id), Proposal(proposal_id), ProposalEvent, missing
    )


async def propose(uow: UnitOfWork, proposal_id: UUID, change: Change, meta: Meta) -> Proposal:
    """Record the proposal; nothing it would change changes yet."""
    proposal = Proposal(proposal_id)
    await record(
        uow.events, stream_id(proposal_id), proposal, proposal.propose(change, meta.actor), meta
    )
    await save(uow, proposal)
    return proposal


async def approve(
    uow: UnitOfWork, proposal_id: UUID, expected_version: int, enactors: Enactors, meta: Meta
) -> Proposal:
    """Approve the proposal and record its effect on the governed stream, in one
    transaction: the change and its approval are never seen one without the other."""
    proposal = await _at(uow, proposal_id, expected_version)
    change = proposal.change
    assert change is not None, "an existing proposal has its change"
    enact = enactors.get(change.kind)
    if enact is None:
        raise InvalidField("kind", f"this service does not govern {change.kind}")
    decided = proposal.approve(meta.actor, await subject_version(uow, change.subject))
    # Appended at the version the proposal saw: a change made since fails the commit (409)
    # even if it slipped in after the check above.
    enacted = Meta(
        actor=meta.actor,
        correlation_id=meta.correlation_id,
        causation_id=f"proposal:{proposal_id}",
        roles=meta.roles,
        traceparent=meta.traceparent,
    )
    await uow.events.append(change.subject, change.subject_version, [change.effect], enacted)
    await record(uow.events, stream_id(proposal_id), proposal, decided, meta)
    await enact(uow, proposal)
    await save(uow, proposal)
    return proposal


async def reject(
    uow: UnitOfWork,
    proposal_id: UUID,
    expected_version: int,
    reason: str,
    meta: Meta,
    *,
    change_authority: bool,
) -> Proposal:
    proposal = await _at(uow, proposal_id, expected_version)
    decided = proposal.reject(meta.actor, reason, change_authority=change_authority)
    await record(uow.events, stream_id(proposal_id), proposal, decided, meta)
    await save(uow, proposal)
    return proposal


async def _at(uow: WithEvents, proposal_id: UUID, expected_version: int) -> Proposal:
    missing = f"no proposal {proposal_id}"
    stream = stream_id(proposal_id)
    return await at_version(
        uow.events, stream, Proposal(proposal_id), ProposalEvent, missing, expected_version
    )


# --- The table ---------------------------------------------------------------------------


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".proposals'


async def save(uow: UnitOfWork, proposal: Proposal) -> None:
    """Store the proposal as it now is."""
    change = proposal.change
    assert change is not None, "a proposal is saved once proposed"
    await uow.execute(
        f"INSERT INTO {_table(uow)} (proposal_id, kind, subject, state, proposed_by, "
        "stream_version, body) VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "ON CONFLICT (proposal_id) DO UPDATE SET state = $4, stream_version = $6, body = $7",
        proposal.id,
        change.kind,
        change.subject,
        proposal.state,
        proposal.proposed_by,
        proposal.version,
        orjson.dumps(_body(proposal)).decode(),
    )


def _body(proposal: Proposal) -> dict[str, object]:
    change = proposal.change
    assert change is not None
    return {
        "subject_version": change.subject_version,
        "effect": change.effect.model_dump(mode="json"),
        "reason": change.reason,
        "decided_by": proposal.decided_by,
        "decision_reason": proposal.decision_reason,
    }


@dataclass(frozen=True)
class Filters:
    state: ProposalState | None = None
    kind: GovernedKind | None = None
    subject: str | None = None


async def list_page(
    uow: UnitOfWork, filters: Filters, limit: int, cursor: int | None
) -> tuple[list[Proposal], int | None]:
    """Up to `limit` proposals, newest first, older than `cursor`; the next cursor."""
    clauses: list[str] = []
    args: list[object] = []
    wanted = (
        ("state =", filters.state),
        ("kind =", filters.kind),
        ("subject =", filters.subject),
        ("seq <", cursor),
    )
    for condition, value in wanted:
        if value is not None:
            args.append(value)
            clauses.append(f"{condition} ${len(args)}")
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    args.append(limit + 1)
    rows = await uow.fetch(
        f"SELECT seq, proposal_id, kind, subject, state, proposed_by, stream_version, body "
        f"FROM {_table(uow)}{where} ORDER BY seq DESC LIMIT ${len(args)}",
        *args,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return [_proposal(row) for row in rows], rows[-1]["seq"] if more else None


_EFFECT: TypeAdapter[Effect] = TypeAdapter(Effect)


def _proposal(row: asyncpg.Record) -> Proposal:
    body = orjson.loads(row["body"])
    change = Change(
        GovernedKind(row["kind"]),
        row["subject"],
        body["subject_version"],
        _EFFECT.validate_python(body["effect"]),
        body["reason"],
    )
    return Proposal(
        row["proposal_id"],
        row["stream_version"],
        change,
        row["proposed_by"],
        ProposalState(row["state"]),
        body["decided_by"],
        body["decision_reason"],
    )
