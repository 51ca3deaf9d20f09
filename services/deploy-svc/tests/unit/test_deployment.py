"""A deployment's steps, decided from its events alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from deploy_svc.domain.deployment import (
    AwaitConfirmation,
    AwaitingWindow,
    AwaitWindow,
    CallWebhook,
    Complete,
    Deployment,
    DeploymentPlan,
    DeployTarget,
    FinishRollback,
    FinishStep,
    OwnOverride,
    RollBackTarget,
    Start,
    StartWave,
    State,
    VerifyWave,
    Wait,
)
from deploy_svc.domain.facts import Window
from deploy_svc.domain.waves import waves
from ferry.errors import Conflict, InvalidField, InvalidTransition
from ferry.events.deploy import DeploymentEvent, Strategy, Wave
from ferry.events.release import BackoutStep, BackoutStepKind

NOW = datetime(2026, 12, 10, 22, tzinfo=UTC)
OPEN = Window(NOW - timedelta(hours=1), NOW + timedelta(hours=2))
"""The release's window for the environment, holding NOW."""
STREAMS: dict[UUID, list[DeploymentEvent]] = {}
"""Each scheduled deployment's first events, to replay from."""


def applied(deployment: Deployment, events: list[DeploymentEvent]) -> Deployment:
    for event in events:
        deployment.apply(event)
    return deployment


def scheduled(*wave_targets: list[str], start: datetime = NOW) -> Deployment:
    deployment = Deployment(uuid4())
    cmd = DeploymentPlan(
        deployment.id,
        uuid4(),
        "production",
        "2026.12.0",
        Strategy.PHASED,
        [Wave(targets=t, soak_seconds=5) for t in wave_targets],
        start,
        "dora",
    )
    STREAMS[deployment.id] = deployment.schedule(cmd)
    return applied(deployment, STREAMS[deployment.id])


def test_waves_by_strategy() -> None:
    targets = [f"t{i}" for i in range(10)]
    assert waves(Strategy.BIG_BANG, targets) == [targets]
    assert waves(Strategy.CANARY, targets, canary=1) == [targets[:1], targets[1:]]
    assert waves(Strategy.PHASED, targets, sizes=[2, 3]) == [targets[:2], targets[2:5], targets[5:]]
    assert waves(Strategy.PHASED, targets, percentages=[10, 40, 50]) == [
        targets[:1],
        targets[1:5],
        targets[5:],
    ]
    with pytest.raises(InvalidField):
        waves(Strategy.CANARY, ["only"], canary=1)
    with pytest.raises(InvalidField):
        waves(Strategy.PHASED, targets)


def test_a_deployment_goes_wave_by_wave_and_resumes_from_its_events() -> None:
    deployment = scheduled(["a"], ["b", "c"], start=NOW + timedelta(minutes=5))
    stream = list(STREAMS[deployment.id])
    assert deployment.decide_next(NOW) == Wait()  # not yet due
    later = NOW + timedelta(minutes=6)
    expected = [
        (Start(), deployment.start),
        (StartWave(0), lambda: deployment.start_wave(0, OPEN, later)),
        (DeployTarget(0, "a"), lambda: deployment.target_deployed(0, "a", "2026.11.0")),
        (VerifyWave(0, 5), lambda: deployment.wave_verified(0)),
        (StartWave(1), lambda: deployment.start_wave(1, OPEN, later)),
        (DeployTarget(1, "b"), lambda: deployment.target_deployed(1, "b", "2026.11.0")),
    ]
    for step, outcome in expected:
        assert deployment.decide_next(later) == step
        events = outcome()
        stream += events
        applied(deployment, events)
    # Killed here: the stream replayed resumes with the target not yet done, not redoing b.
    resumed = Deployment.replay(deployment.id, stream)
    assert resumed.decide_next(later) == DeployTarget(1, "c")
    resumed = applied(resumed, resumed.target_deployed(1, "c", None))
    resumed = applied(resumed, resumed.wave_verified(1))
    assert resumed.decide_next(later) == Complete()
    resumed = applied(resumed, resumed.complete(later))
    assert resumed.state is State.COMPLETED
    assert resumed.decide_next(later) == Wait()


def test_a_failing_target_rolls_back_every_switched_target() -> None:
    deployment = scheduled(["a", "b"])
    for events in (deployment.start(), deployment.start_wave(0, OPEN, NOW)):
        deployment = applied(deployment, events)
    deployment = applied(deployment, deployment.target_deployed(0, "a", "1.0"))
    deployment = applied(deployment, deployment.target_failed(0, "b", "health check failed", ()))
    assert deployment.state is State.ROLLING_BACK
    assert deployment.decide_next(NOW) == RollBackTarget("a", "1.0")
    deployment = applied(deployment, deployment.target_rolled_back("a", "1.0"))
    # A plan of no typed step: the driver's rollback is its one step.
    assert deployment.decide_next(NOW) == FinishStep(0)
    deployment = applied(deployment, deployment.finish_step(0, "service:deploy-svc"))
    assert deployment.decide_next(NOW) == FinishRollback()
    deployment = applied(deployment, deployment.finish_rollback())
    assert deployment.state is State.ROLLED_BACK


def test_pause_resume_and_abort() -> None:
    deployment = applied(scheduled(["a"]), [])
    deployment = applied(deployment, deployment.start())
    deployment = applied(deployment, deployment.pause("dora"))
    assert deployment.decide_next(NOW) == Wait()
    with pytest.raises(InvalidTransition):
        deployment.pause("dora")
    deployment = applied(deployment, deployment.resume("dora"))
    assert deployment.decide_next(NOW) == StartWave(0)
    deployment = applied(deployment, deployment.abort("dora", "wrong release"))
    assert deployment.state is State.ABORTED
    with pytest.raises(InvalidTransition, match="aborted"):
        deployment.resume("dora")


def test_media_that_do_not_verify_fail_it_before_any_target() -> None:
    deployment = applied(scheduled(["a"]), [])
    deployment = applied(deployment, deployment.start())
    deployment = applied(deployment, deployment.fail("signature does not verify", ()))
    assert deployment.state is State.FAILED


def test_a_backout_under_way_cannot_be_aborted() -> None:
    deployment = scheduled(["a", "b"])
    for events in (deployment.start(), deployment.start_wave(0, OPEN, NOW)):
        deployment = applied(deployment, events)
    deployment = applied(deployment, deployment.target_deployed(0, "a", "1.0"))
    deployment = applied(deployment, deployment.target_failed(0, "b", "broken", ()))
    with pytest.raises(InvalidTransition, match="rolling_back"):
        deployment.abort("dora", "stop it")


def started(deployment: Deployment, at: datetime) -> Deployment:
    """Started, its first wave deployed and verified."""
    applied(deployment, deployment.start())
    applied(deployment, deployment.start_wave(0, OPEN, at))
    applied(deployment, deployment.target_deployed(0, "a", None))
    return applied(deployment, deployment.wave_verified(0))


def test_no_wave_starts_once_the_window_has_closed() -> None:
    deployment = started(scheduled(["a"], ["b"]), NOW)
    closed = OPEN.end + timedelta(seconds=1)
    [paused] = deployment.start_wave(1, OPEN, closed)
    assert (paused.type, paused.wave, paused.window_end) == (
        "DeploymentPausedOutsideWindow",
        1,
        OPEN.end,
    )
    applied(deployment, [paused])
    assert (deployment.paused, deployment.awaiting_window) == (True, True)
    assert deployment.decide_next(closed) == AwaitWindow()
    with pytest.raises(AwaitingWindow):
        deployment.resume("dora")
    # Not yet in a window: nothing; in the next one, it goes on by itself.
    assert deployment.resume_in_window(OPEN, closed, "service:deploy-svc") == []
    tomorrow = Window(NOW + timedelta(days=1), NOW + timedelta(days=1, hours=2))
    later = NOW + timedelta(days=1, minutes=5)
    [resumed] = deployment.resume_in_window(tomorrow, later, "service:deploy-svc")
    applied(deployment, [resumed])
    assert deployment.decide_next(later) == StartWave(1)
    assert deployment.start_wave(1, tomorrow, later)[0].type == "WaveStarted"


def test_a_release_without_a_window_there_any_more_pauses_too() -> None:
    deployment = started(scheduled(["a"], ["b"]), NOW)
    [paused] = deployment.start_wave(1, None, NOW)
    assert (paused.type, paused.window_end) == ("DeploymentPausedOutsideWindow", None)


def test_an_override_by_another_change_authority_runs_it_to_the_end() -> None:
    deployment = started(scheduled(["a"], ["b"], ["c"]), NOW)
    closed = OPEN.end + timedelta(minutes=1)
    with pytest.raises(InvalidTransition):
        deployment.override_window("cora", "not waiting")  # nothing to override yet
    applied(deployment, deployment.start_wave(1, OPEN, closed))
    with pytest.raises(OwnOverride):
        deployment.override_window("dora", "she asked for the deployment")
    applied(deployment, deployment.override_window("cora", "the fix is needed tonight"))
    assert (deployment.paused, deployment.window_overridden) == (False, True)
    assert deployment.decide_next(closed) == StartWave(1)
    # Overridden to the end: later waves start outside the window too.
    assert deployment.start_wave(2, OPEN, closed)[0].type == "WaveStarted"


def test_a_rollback_while_waiting_for_a_window_goes_ahead() -> None:
    deployment = started(scheduled(["a"], ["b"]), NOW)
    applied(deployment, deployment.start_wave(1, OPEN, OPEN.end))
    applied(deployment, deployment.roll_back("dora", "errors on a", ()))
    assert deployment.awaiting_window is False
    assert deployment.decide_next(OPEN.end) == RollBackTarget("a", None)


PLAN = [
    BackoutStep(kind=BackoutStepKind.MANUAL, description="drain the queue by hand"),
    BackoutStep(kind=BackoutStepKind.ROLLBACK),
    BackoutStep(kind=BackoutStepKind.WEBHOOK, webhook="flags", description="flag off"),
]


def test_the_release_backout_plan_runs_step_by_step_pausing_at_manual_steps() -> None:
    deployment = started(scheduled(["a"], ["b"]), NOW)
    applied(deployment, deployment.roll_back("dora", "errors", PLAN))
    assert deployment.backout == PLAN
    assert deployment.decide_next(NOW) == AwaitConfirmation(0, "drain the queue by hand")
    applied(deployment, deployment.await_confirmation(0))
    assert (deployment.awaiting_step, deployment.paused) == (0, True)
    assert deployment.decide_next(NOW) == Wait()
    with pytest.raises(Conflict, match="backout step 0"):
        deployment.resume("dora")
    with pytest.raises(InvalidTransition):
        deployment.confirm_step(1, "olly", "not this one")
    [done] = deployment.confirm_step(0, "olly", "queue drained")
    assert (done.type, done.by, done.note) == ("BackoutStepDone", "olly", "queue drained")
    applied(deployment, [done])
    assert deployment.decide_next(NOW) == RollBackTarget("a", None)
    applied(deployment, deployment.target_rolled_back("a", None))
    assert deployment.decide_next(NOW) == FinishStep(1)
    applied(deployment, deployment.finish_step(1, "service:deploy-svc"))
    assert deployment.decide_next(NOW) == CallWebhook(2, "flags")
    # The webhook refused: someone does by hand what it would have, and confirms.
    applied(deployment, deployment.await_confirmation(2, "webhook flags answered HTTP 503"))
    assert deployment.decide_next(NOW) == Wait()
    applied(deployment, deployment.confirm_step(2, "olly", "flag turned off in the console"))
    assert deployment.decide_next(NOW) == FinishRollback()


def test_a_plan_without_the_drivers_rollback_gets_it_first() -> None:
    deployment = started(scheduled(["a"], ["b"]), NOW)
    manual = [BackoutStep(description="tell the desk")]
    applied(deployment, deployment.target_failed(1, "b", "broken", manual))
    assert [step.kind for step in deployment.backout] == ["rollback", "manual"]
    assert deployment.decide_next(NOW) == RollBackTarget("a", None)
