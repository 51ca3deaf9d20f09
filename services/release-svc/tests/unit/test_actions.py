"""A review's improvement actions: who moves them on, where they may go, and overdue."""

from __future__ import annotations

import copy
from datetime import date
from uuid import UUID, uuid4

import pytest

from ferry.errors import NotFound
from ferry.events.release import ActionState, ImprovementAction, ImprovementActionRaised
from release_svc.domain.actions import ActionMoveRefused, InvalidAction
from release_svc.domain.commands import ProgressAction, ReassignAction
from release_svc.domain.release import Release
from release_svc.domain.release_actions import NotTheActionOwner
from release_svc.domain.release_state import NotTheReleaseManager
from tests.support.releases import applied, planned

OPEN, IN_PROGRESS, DONE, DROPPED = (
    ActionState.OPEN,
    ActionState.IN_PROGRESS,
    ActionState.DONE,
    ActionState.DROPPED,
)


def with_action(owner: str = "olga", due: date | None = date(2027, 3, 1)) -> tuple[Release, UUID]:
    """A release (manager rita, owner bob) holding one open action of `owner`'s."""
    release = planned()
    action = ImprovementAction(
        action_id=uuid4(), description="automate smoke", owner=owner, due=due
    )
    return applied(release, [ImprovementActionRaised(release_id=release.id, action=action)]), (
        action.action_id
    )


def moved(
    release: Release, action_id: UUID, state: ActionState, by: str, note: str = ""
) -> Release:
    """A copy of `release` with the action moved (`applied` changes the release it is given)."""
    release = copy.deepcopy(release)
    return applied(release, release.progress_action(ProgressAction(action_id, state, by, note)))


def test_the_owner_takes_an_action_from_open_to_done() -> None:
    release, action_id = with_action()
    release = moved(release, action_id, IN_PROGRESS, "olga")
    release = moved(release, action_id, DONE, "olga", "  smoke test runs in CI ")
    action = release.actions[action_id]
    assert (action.state, action.note) == (DONE, "smoke test runs in CI")


def test_the_release_manager_or_owners_may_move_it_others_may_not() -> None:
    release, action_id = with_action()
    assert moved(release, action_id, IN_PROGRESS, "rita").actions[action_id].state is IN_PROGRESS
    assert moved(release, action_id, IN_PROGRESS, "bob").actions[action_id].state is IN_PROGRESS
    with pytest.raises(NotTheActionOwner):
        release.progress_action(ProgressAction(action_id, DONE, "mallory"))


@pytest.mark.parametrize("final", [DONE, DROPPED])
def test_done_and_dropped_are_final(final: ActionState) -> None:
    release, action_id = with_action()
    release = moved(release, action_id, final, "olga", "for good")
    for state in ActionState:
        with pytest.raises(ActionMoveRefused):
            release.progress_action(ProgressAction(action_id, state, "olga", "again"))


def test_an_action_in_progress_may_go_back_to_open_but_not_stay_where_it_is() -> None:
    release, action_id = with_action()
    with pytest.raises(ActionMoveRefused):
        release.progress_action(ProgressAction(action_id, OPEN, "olga"))
    release = moved(release, action_id, IN_PROGRESS, "olga")
    assert moved(release, action_id, OPEN, "olga").actions[action_id].state is OPEN


def test_dropping_needs_its_reason() -> None:
    release, action_id = with_action()
    with pytest.raises(InvalidAction) as refused:
        release.progress_action(ProgressAction(action_id, DROPPED, "olga", "  "))
    assert refused.value.field == "note"


def test_only_the_release_manager_reassigns_and_only_unfinished_actions() -> None:
    release, action_id = with_action()
    with pytest.raises(NotTheReleaseManager):
        release.reassign_action(ReassignAction(action_id, "olga2", None, "olga"))
    release = applied(
        release, release.reassign_action(ReassignAction(action_id, "pat", date(2027, 4, 1), "rita"))
    )
    assert (release.actions[action_id].owner, release.actions[action_id].due) == (
        "pat",
        date(2027, 4, 1),
    )
    assert release.reassign_action(ReassignAction(action_id, "pat", date(2027, 4, 1), "rita")) == []
    with pytest.raises(InvalidAction):
        release.reassign_action(ReassignAction(action_id, " ", None, "rita"))
    release = moved(release, action_id, DONE, "pat")
    with pytest.raises(InvalidAction):
        release.reassign_action(ReassignAction(action_id, "olga", None, "rita"))


def test_an_unknown_action_is_not_found() -> None:
    release, _ = with_action()
    with pytest.raises(NotFound):
        release.progress_action(ProgressAction(uuid4(), DONE, "rita"))


def test_overdue_is_unfinished_after_the_due_date() -> None:
    release, action_id = with_action(due=date(2027, 3, 1))
    action = release.actions[action_id]
    assert not action.overdue(date(2027, 3, 1))
    assert action.overdue(date(2027, 3, 2))
    assert not moved(release, action_id, DONE, "olga").actions[action_id].overdue(date(2028, 1, 1))
    undated, undated_id = with_action(due=None)
    assert not undated.actions[undated_id].overdue(date(2030, 1, 1))
