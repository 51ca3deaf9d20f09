from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from ferry.envelope import Envelope
from ferry.events import REGISTRY, EventRegistry
from ferry.events.base import UnreadableEvent
from ferry.events.release import ReleasePlanned
from ferry.testing import release_planned


def planned_envelope(**data_overrides: object) -> Envelope:
    release_id = uuid4()
    data = {
        "schema_version": 1,
        "release_id": str(release_id),
        "name": "Payments",
        "version": "1.0",
        "planned_start": "2026-12-01",
        "planned_end": "2026-12-02",
        "release_manager": "rita",
        "identifier": "REL-2026-0001",
        **data_overrides,
    }
    return Envelope(
        id=uuid4(),
        source="release-svc",
        type="ReleasePlanned",
        time=datetime.now(UTC),
        subject=str(release_id),
        correlationid="c-1",
        actor="alice",
        streamversion=1,
        data=data,
    )


def test_envelope_round_trips_through_json_as_cloudevents() -> None:
    envelope = planned_envelope()
    raw = envelope.to_json()
    assert b'"specversion":"1.0"' in raw
    assert b'"datacontenttype":"application/json"' in raw
    assert Envelope.from_json(raw) == envelope


def test_envelope_ignores_unknown_extension_attributes() -> None:
    raw = planned_envelope().model_dump(mode="json") | {"traceparent": "00-abc", "newattr": 1}
    assert Envelope.model_validate(raw).type == "ReleasePlanned"


def test_registry_parses_known_type_into_its_model() -> None:
    event = REGISTRY.parse(planned_envelope())
    assert isinstance(event, ReleasePlanned)
    assert event.planned_start == date(2026, 12, 1)


def test_registry_ignores_unknown_fields_of_a_known_type() -> None:
    event = REGISTRY.parse(planned_envelope(added_in_a_later_release="x"))
    assert isinstance(event, ReleasePlanned)


def test_registry_returns_none_for_unknown_types() -> None:
    envelope = planned_envelope().model_copy(update={"type": "SomethingNew"})
    assert REGISTRY.parse(envelope) is None


def test_registry_reports_data_that_does_not_fit_the_model() -> None:
    with pytest.raises(UnreadableEvent, match="planned_start"):
        REGISTRY.parse(planned_envelope(planned_start="not a date"))


def test_registry_refuses_a_type_registered_twice() -> None:
    with pytest.raises(ValueError, match="twice"):
        EventRegistry([ReleasePlanned, ReleasePlanned])


def test_event_data_leaves_the_type_to_the_envelope() -> None:
    event = release_planned()
    assert "type" not in event.data()
    assert event.stream_id() == f"release-{event.release_id}"
