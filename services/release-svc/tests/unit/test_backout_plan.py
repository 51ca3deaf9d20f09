"""A backout plan's typed steps and triggers, and plans written as plain text before."""

from __future__ import annotations

from uuid import uuid4

import pytest

from ferry.errors import InvalidField
from ferry.events.release import (
    BackoutPlanSet,
    BackoutStep,
    BackoutStepKind,
    BackoutTrigger,
    TriggerKind,
)
from release_svc.domain.commands import SetBackoutPlan
from tests.support.releases import planned

ROLLBACK = BackoutStep(kind=BackoutStepKind.ROLLBACK)


def test_plain_text_recorded_before_plans_were_typed_reads_as_manual_steps() -> None:
    raw = {"release_id": str(uuid4()), "trigger_conditions": ["errors"], "steps": ["switch back"]}
    plan = BackoutPlanSet.model_validate(raw)
    assert plan.steps == [BackoutStep(kind=BackoutStepKind.MANUAL, description="switch back")]
    assert plan.trigger_conditions == [BackoutTrigger(description="errors")]


def test_a_plan_mixes_text_and_typed_steps() -> None:
    release = planned()
    metric = BackoutTrigger(kind=TriggerKind.METRIC, metric="error_rate")
    cmd = SetBackoutPlan(release.id, ["a judgement", metric], ["tell the desk", ROLLBACK], "rita")
    [event] = release.set_backout_plan(cmd)
    assert isinstance(event, BackoutPlanSet)
    assert [s.kind for s in event.steps] == ["manual", "rollback"]
    assert [t.kind for t in event.trigger_conditions] == ["judgement", "metric"]


@pytest.mark.parametrize(
    ("triggers", "steps", "field"),
    [
        ([BackoutTrigger(kind=TriggerKind.METRIC)], [ROLLBACK], "trigger_conditions.0.metric"),
        (["x"], [BackoutStep(kind=BackoutStepKind.WEBHOOK)], "steps.0.webhook"),
        (["x"], [BackoutStep(kind=BackoutStepKind.MANUAL)], "steps.0.description"),
        (["x"], [ROLLBACK, ROLLBACK], "steps"),
    ],
)
def test_each_step_and_trigger_names_what_it_needs(
    triggers: list[BackoutTrigger | str], steps: list[BackoutStep | str], field: str
) -> None:
    release = planned()
    with pytest.raises(InvalidField) as refused:
        release.set_backout_plan(SetBackoutPlan(release.id, triggers, steps, "rita"))
    assert refused.value.field == field
