"""A plan file becomes the requests that plan the release: the release, then each section."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.cli.plans import PlanError, parse

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "release-plan.yaml"


def test_the_documented_example_is_a_release_and_its_sections_in_order() -> None:
    plan = parse(EXAMPLE.read_text(), "example")
    assert plan.release["name"] == "Payments 2026.12"
    assert plan.release["version"] == "2026.12.0"
    assert [(f.section, f.path) for f in plan.follow_ups] == [
        ("scope", "/scope"),
        ("windows", "/windows"),
        ("communication_plan", "/communication-plan"),
        ("risk", "/risk"),
        ("backout_plan", "/backout-plan"),
    ]
    scope, windows, communication, _, _ = (f.body for f in plan.follow_ups)
    assert scope["items"][0] == {"kind": "service", "name": "payments"}
    assert windows["windows"][1]["start"] == "2026-12-10T22:00:00+01:00"
    assert communication["entries"][0]["offset"] == "-P7D"


def test_dates_and_times_stay_as_written() -> None:
    plan = parse(
        "name: P\nversion: '1'\nplanned_start: 2026-12-01\nplanned_end: 2026-12-02\n"
        "windows:\n  - {environment: production, start: 2026-12-01T22:00:00+01:00,"
        " end: 2026-12-02T01:00:00+01:00}\n"
    )
    assert plan.release["planned_start"] == "2026-12-01"
    assert plan.follow_ups[0].body["windows"][0]["start"] == "2026-12-01T22:00:00+01:00"


def test_dependencies_come_first_and_the_package_last() -> None:
    plan = parse(
        "name: P\nversion: '1'\npackage: [{name: a, version: '1'}]\n"
        "backout_plan: {trigger_conditions: [x], steps: [y]}\ndepends_on: [REL-2026-0001]\n"
    )
    assert [f.section for f in plan.follow_ups] == ["depends_on", "backout_plan", "package"]
    assert plan.follow_ups[0].body == {"depends_on": ["REL-2026-0001"]}
    assert plan.follow_ups[2].body == {"media": [{"name": "a", "version": "1"}]}


def test_a_freeze_override_goes_with_the_windows() -> None:
    plan = parse("name: P\nwindows: []\nfreeze_override: outage fix\n")
    assert plan.follow_ups[0].body == {"windows": [], "freeze_override": "outage fix"}
    assert "freeze_override" not in plan.release
    with pytest.raises(PlanError, match="freeze_override goes with windows"):
        parse("name: P\nfreeze_override: outage fix\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1.10\n", 'version read as a number; quote it, e.g. version: "1.10"'),
        ("package: [{name: a, version: 2.0}]\n", "package.0.version read as a number"),
        ("- a list\n", "must be a mapping"),
        ("name: [unclosed\n", "not valid YAML"),
        ("scope: {kind: service}\n", "scope must be a list"),
        ("risk: [low]\n", "risk must be a mapping"),
    ],
)
def test_a_file_that_is_no_plan_is_refused_saying_why(text: str, message: str) -> None:
    with pytest.raises(PlanError, match=message.replace("(", r"\(")):
        parse(text, "plan.yaml")


def test_the_same_release_has_the_same_idempotency_key() -> None:
    first = parse("name: P\nversion: '1'\nscope: []\n")
    assert first.idempotency_key() == parse("version: '1'\nname: P\n").idempotency_key()
    assert first.idempotency_key() != parse("name: P\nversion: '2'\n").idempotency_key()
