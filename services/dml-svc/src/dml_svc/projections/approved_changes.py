"""The requests for change (RFCs) the library knows to be approved, which a spare's withdrawal
into live needs.

Two sources tell it: the outside change tool (`ChangeApproved` / `ChangeRejected` on
`change.events`) and release-svc (`ReleaseApproved` on `release.events`, whose `rfc` a change
authority approved). The change tool's latest decision on an RFC wins; release-svc's approval
counts only for an RFC the change tool has not decided on. So a rejection after an approval
makes the RFC unapproved, even if release-svc's approval of it arrives later (the two topics
are not ordered with each other), and a later approval from the change tool approves it again.
"""

from __future__ import annotations

from ferry.db import UnitOfWork
from ferry.envelope import Envelope
from ferry.events.change import ChangeApproved, ChangeDecision, ChangeRejected
from ferry.events.release import ReleaseApproved


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".change_decisions'


async def approved(uow: UnitOfWork, rfc: str) -> frozenset[str]:
    """`{rfc}` if it is approved, else nothing: what `Spare.withdraw` checks against."""
    found = await uow.fetchval(
        f"SELECT rfc FROM {_table(uow)} WHERE rfc = $1 "
        "AND (change_decision = 'approved' OR (change_decision IS NULL AND release_approved))",
        rfc,
    )
    return frozenset({found}) if found is not None else frozenset()


async def _decide(uow: UnitOfWork, event: ChangeDecision, decision: str) -> None:
    # change.events is keyed by RFC: one RFC's decisions arrive in the order they were made,
    # so the last one handled is the change tool's latest word.
    await uow.execute(
        f"INSERT INTO {_table(uow)} (rfc, change_decision) VALUES ($1, $2) "
        "ON CONFLICT (rfc) DO UPDATE SET change_decision = $2",
        event.rfc,
        decision,
    )


async def on_change_approved(event: ChangeApproved, envelope: Envelope, uow: UnitOfWork) -> None:
    """The change tool approved the RFC: spares may go into live under it."""
    await _decide(uow, event, "approved")


async def on_change_rejected(event: ChangeRejected, envelope: Envelope, uow: UnitOfWork) -> None:
    """The change tool rejected the RFC: no spare goes into live under it (any more)."""
    await _decide(uow, event, "rejected")


async def remember_release_approval(uow: UnitOfWork, event: ReleaseApproved) -> None:
    """release-svc approved a release under `event.rfc`. Safe to run twice; call it inside the
    consumer's unit of work (it commits with it)."""
    await uow.execute(
        f"INSERT INTO {_table(uow)} (rfc, release_approved) VALUES ($1, true) "
        "ON CONFLICT (rfc) DO UPDATE SET release_approved = true",
        event.rfc,
    )
