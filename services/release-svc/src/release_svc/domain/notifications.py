"""What to tell whom when something happens to a release: a communication plan entry
falling due goes to its audience; a failure goes at once to the release's escalation
contact, manager and owners. And how long a failed delivery waits before the next try."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from ferry.events.notify import Channel
from ferry.events.release import CommunicationEntry
from release_svc.domain.audiences import Audience
from release_svc.domain.release_state import ReleaseState

CHAT_CHANNELS = frozenset({"chat", "webhook", "slack", "teams"})
"""A plan entry's channels that mean the audience's chat webhooks."""


@dataclass(frozen=True)
class Delivery:
    channel: Channel
    recipient: str


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    acknowledge: bool = False
    """Whether its recipients are asked to acknowledge it."""


def retry_after(attempts: int, backoff: Sequence[float]) -> timedelta | None:
    """How long to wait after `attempts` failed ones (`backoff`: the wait in seconds after
    each); None when it is time to give up."""
    return timedelta(seconds=backoff[attempts - 1]) if attempts <= len(backoff) else None


def to_audience(audience: Audience | None, channel: str) -> list[Delivery]:
    """An entry for `audience` over `channel`: its members' inboxes always, and its email
    addresses or chat webhooks as the channel says. An unknown audience reaches no one."""
    if audience is None:
        return []
    found = [Delivery(Channel.INBOX, member) for member in sorted(audience.members)]
    wanted = channel.strip().lower()
    if wanted == "email":
        found += [Delivery(Channel.EMAIL, address) for address in sorted(audience.emails)]
    elif wanted in CHAT_CHANNELS:
        found += [Delivery(Channel.WEBHOOK, name) for name in sorted(audience.webhooks)]
    return found


def to_people_in_charge(release: ReleaseState) -> list[Delivery]:
    """The escalation contact, the manager and the owners: in their inboxes, and by email
    where the contact is an address."""
    people = {release.release_manager, *release.owners} - {""}
    contact = release.escalation_contact.strip()
    found = []
    if "@" in contact:
        found.append(Delivery(Channel.EMAIL, contact))
    elif contact:
        people.add(contact)
    return found + [Delivery(Channel.INBOX, subject) for subject in sorted(people)]


def _named(release: ReleaseState) -> str:
    return f"{release.identifier} {release.name} {release.release_version}".strip()


def communication(release: ReleaseState, entry: CommunicationEntry) -> Message:
    first_line = entry.message.strip().splitlines()[0] if entry.message.strip() else ""
    return Message(
        subject=f"{release.identifier}: {first_line[:120]}",
        text=f"{entry.message.strip()}\n\n— {_named(release)}, to {entry.audience}",
        acknowledge=entry.acknowledge,
    )


def failure(release: ReleaseState, what: str, detail: str) -> Message:
    return Message(
        subject=f"{release.identifier}: {what}",
        text=f"{_named(release)}: {what}. {detail}".strip(),
    )


def audience_name(text: str) -> str:
    """The directory's name of the audience a plan entry names: `Service desk` is
    `service-desk`."""
    return "-".join(text.strip().lower().split())


def escalation(release: ReleaseState, contact: str) -> list[Delivery]:
    """The people in charge, and the contact Early Life Support escalated to."""
    found = to_people_in_charge(release)
    extra = to_person(contact)
    return found + ([extra] if contact.strip() and extra not in found else [])


def cause_of(*parts: object) -> UUID:
    """The cause of a notification no event called for, from what it is about: the same
    parts, the same cause, so it is made once."""
    text = ":".join(str(part) for part in parts)
    return UUID(hashlib.md5(text.encode(), usedforsecurity=False).hexdigest())


def overdue_cause(action_id: UUID, due: date) -> UUID:
    """What a reminder of an overdue action is the notification of: the action at its due
    date, so it is sent once per due date (a new due date, a new reminder)."""
    return cause_of(action_id, due)


def window_closing(release: ReleaseState, environment: str, ends_at: datetime) -> Message:
    return failure(
        release,
        f"its {environment} window closes at {ends_at:%Y-%m-%d %H:%M} UTC, not deployed there",
        "Deploy now, or move the window (PUT /releases/{id}/windows) and tell those it affects.",
    )


def to_person(name: str) -> Delivery:
    """Someone named in a plan or a review: an email address, or a subject's inbox."""
    return Delivery(Channel.EMAIL if "@" in name else Channel.INBOX, name.strip())


def overdue_action(identifier: str, description: str, due: date) -> Message:
    return Message(
        subject=f"{identifier}: improvement action overdue since {due}",
        text=f'The improvement action "{description}" from the review of {identifier} was '
        f"due on {due}. Move it on, or drop it saying why: ferry actions list --mine.",
    )
