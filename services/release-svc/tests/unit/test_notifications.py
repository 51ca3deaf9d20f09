"""Who is told what: audiences over their channels, the people in charge of a failure,
and the waits between attempts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ferry.errors import InvalidField
from ferry.events.notify import Channel
from ferry.events.release import CommunicationEntry, Milestone
from release_svc.domain import notifications as notify
from release_svc.domain.audiences import Audience, DefineAudience
from release_svc.domain.notifications import Delivery
from tests.support.releases import planned

DESK = DefineAudience(
    "service-desk",
    "first line",
    frozenset({"sam", "sue"}),
    frozenset({"desk@example.com"}),
    frozenset({"ops-chat"}),
    by="rita",
)


def desk() -> Audience:
    audience = Audience("service-desk")
    for event in audience.define(DESK, {"ops-chat"}):
        audience.apply(event)
    return audience


def test_an_audience_names_only_configured_webhooks_and_a_repeat_changes_nothing() -> None:
    with pytest.raises(InvalidField) as refused:
        Audience("service-desk").define(DESK, {"other"})
    assert refused.value.field == "webhooks.0"
    assert desk().define(DESK, {"ops-chat"}) == []


@pytest.mark.parametrize(
    ("channel", "beyond_inboxes"),
    [
        ("email", [Delivery(Channel.EMAIL, "desk@example.com")]),
        ("Chat", [Delivery(Channel.WEBHOOK, "ops-chat")]),
        ("teams", [Delivery(Channel.WEBHOOK, "ops-chat")]),
        ("poster", []),
    ],
)
def test_an_entry_reaches_the_members_inboxes_and_its_channel(
    channel: str, beyond_inboxes: list[Delivery]
) -> None:
    inboxes = [Delivery(Channel.INBOX, "sam"), Delivery(Channel.INBOX, "sue")]
    assert notify.to_audience(desk(), channel) == inboxes + beyond_inboxes
    assert notify.to_audience(None, channel) == []


def test_a_plan_entrys_audience_is_found_by_its_directory_name() -> None:
    assert notify.audience_name("  Service   Desk ") == "service-desk"


def test_a_failure_goes_to_the_contact_the_manager_and_the_owners() -> None:
    release = planned()  # manager rita, owner bob
    release.escalation_contact = "oncall@example.com"
    assert notify.to_people_in_charge(release) == [
        Delivery(Channel.EMAIL, "oncall@example.com"),
        Delivery(Channel.INBOX, "bob"),
        Delivery(Channel.INBOX, "rita"),
    ]
    release.escalation_contact = "olly"
    assert Delivery(Channel.INBOX, "olly") in notify.to_people_in_charge(release)
    assert notify.escalation(release, "pager@example.com")[-1] == Delivery(
        Channel.EMAIL, "pager@example.com"
    )


def test_messages_name_the_release() -> None:
    release = planned()
    entry = CommunicationEntry(
        entry_id="e1",
        audience="service desk",
        channel="email",
        message="Goes live Friday\nDetails follow",
        milestone=Milestone.RELEASE_START,
        offset=timedelta(days=-7),
    )
    message = notify.communication(release, entry)
    assert message.subject == "REL-2026-0001: Goes live Friday"
    assert message.text.endswith("to service desk")


def test_each_failed_attempt_waits_longer_until_it_is_given_up() -> None:
    backoff = [30, 120]
    assert notify.retry_after(1, backoff) == timedelta(seconds=30)
    assert notify.retry_after(2, backoff) == timedelta(seconds=120)
    assert notify.retry_after(3, backoff) is None
