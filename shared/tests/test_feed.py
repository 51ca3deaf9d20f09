"""The event feed's cursors, filters and framing: plain functions, no Kafka."""

from __future__ import annotations

from uuid import uuid4

import orjson
import pytest

from ferry.feed import (
    Filter,
    TeamScope,
    UnreadableCursor,
    decode_cursor,
    encode_cursor,
    sse_message,
)


def test_a_cursor_reads_back_as_the_positions_it_was_made_of() -> None:
    positions = {"release.events": [3, 0, 17], "deploy.events": [1, 2, 3]}
    cursor = encode_cursor(positions)
    assert decode_cursor(cursor) == positions
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor!",
        encode_cursor({}),
        "WzEsMl0",  # [1,2]
        encode_cursor({"other.topic": [1]}),
        encode_cursor({"release.events": [-1]}),
        encode_cursor({"release.events": ["1"]}),
        encode_cursor({"release.events": [True]}),
        encode_cursor({"release.events": [2**63]}),  # beyond Kafka's offsets
        encode_cursor({"release.events": 5}),  # type: ignore[dict-item]
    ],
)
def test_anything_else_is_refused_naming_where_it_came_from(cursor: str) -> None:
    with pytest.raises(UnreadableCursor) as refused:
        decode_cursor(cursor, "last_event_id")
    assert "last_event_id" in str(refused.value)
    assert refused.value.status == 400
    assert refused.value.extensions()["errors"][0]["field"] == "last_event_id"


def event(type_: str, subject: str, **data: object) -> dict[str, object]:
    return {"type": type_, "subject": subject, "data": data}


def test_no_filter_lets_everything_through() -> None:
    assert Filter().matches("els.events", event("ElsStarted", "x"))


def test_a_type_filter_lets_through_only_those_types() -> None:
    wanted = Filter(types={"ReleasePlanned", "DeploymentStarted"})
    assert wanted.matches("release.events", event("ReleasePlanned", "r"))
    assert wanted.matches("deploy.events", event("DeploymentStarted", "d"))
    assert not wanted.matches("deploy.events", event("WaveStarted", "d"))


def test_a_releases_events_are_its_own_stream_and_those_naming_it() -> None:
    release, other = uuid4(), uuid4()
    wanted = Filter(release_id=release)
    assert wanted.matches("release.events", event("ReleasePlanned", str(release)))
    assert wanted.matches("deploy.events", event("DeploymentStarted", "d", release_id=str(release)))
    assert wanted.matches("dml.events", event("ReleaseAvailable", "m", release_id=str(release)))
    assert not wanted.matches("release.events", event("ReleasePlanned", str(other)))
    assert not wanted.matches("deploy.events", event("DeploymentStarted", str(release)))
    assert not wanted.matches("deploy.events", event("DeploymentStarted", "d", release_id="x"))
    assert not wanted.matches("els.events", {"type": "ElsStarted", "subject": "e", "data": "?"})


def test_both_filters_must_hold() -> None:
    release = uuid4()
    wanted = Filter(types={"DeploymentStarted"}, release_id=release)
    assert wanted.matches("deploy.events", event("DeploymentStarted", "d", release_id=str(release)))
    assert not wanted.matches("deploy.events", event("WaveStarted", "d", release_id=str(release)))


def payments(*releases: str) -> TeamScope:
    return TeamScope(
        teams=frozenset({"payments"}),
        services=frozenset({"payments-api"}),
        environments=frozenset({"prod-payments"}),
        releases=set(releases),
    )


def test_a_teams_events_name_its_releases_services_environments_or_the_team() -> None:
    wanted = Filter(teams=payments("r1"))
    assert wanted.matches("release.events", event("ReleaseRescheduled", "r1"))
    assert wanted.matches("deploy.events", event("DeploymentStarted", "d", release_id="r1"))
    assert wanted.matches(
        "deploy.events", event("EnvironmentDefined", "e", environment="prod-payments")
    )
    assert wanted.matches("els.events", event("ElsStarted", "c", services=["payments-api", "x"]))
    assert wanted.matches("dml.events", event("MediaStaged", "m", service="payments-api"))
    assert wanted.matches("release.events", event("TeamDefined", "t", team="payments"))
    assert not wanted.matches("release.events", event("ReleaseRescheduled", "r2"))
    assert not wanted.matches("deploy.events", event("DeploymentStarted", "d", release_id="r2"))
    assert not wanted.matches("els.events", event("ElsStarted", "c", services=["login"]))
    assert not wanted.matches("release.events", event("TeamDefined", "t", team="identity"))


def test_a_release_becomes_the_teams_when_planned_for_it_or_scoped_with_its_service() -> None:
    scope = payments()
    wanted = Filter(types={"DeploymentStarted"}, teams=scope)
    # Not of the type asked for, yet learnt from: the deployments that follow are the team's.
    assert not wanted.matches("release.events", event("ReleasePlanned", "r3", team="payments"))
    scoped = event("ReleaseScopeSet", "r4", items=[{"kind": "service", "name": "payments-api"}])
    assert not wanted.matches("release.events", scoped)
    assert not wanted.matches("release.events", event("ReleasePlanned", "r5", team="identity"))
    assert scope.releases == {"r3", "r4"}
    assert wanted.matches("deploy.events", event("DeploymentStarted", "d", release_id="r4"))
    assert not wanted.matches("deploy.events", event("DeploymentStarted", "d", release_id="r5"))


def test_a_message_carries_id_event_and_data() -> None:
    envelope = orjson.dumps(event("ReleasePlanned", "r", name="Payments")).decode()
    assert sse_message("ReleasePlanned", envelope, "abc") == (
        f"id: abc\nevent: ReleasePlanned\ndata: {envelope}\n\n".encode()
    )


def test_line_breaks_cannot_forge_fields_and_others_stay_as_they_are() -> None:
    framed = sse_message("A\nid: forged", '{\n"a": "b\u2028c"\r\n}', "abc").decode()
    assert framed == 'id: abc\nevent: A id: forged\ndata: {\ndata: "a": "b\u2028c"\ndata: }\n\n'
