"""Improvement actions: raised by a release's review, then worked on by their owner until
done or dropped. The release's stream keeps them, as it keeps the review that raised them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from uuid import UUID

from ferry.errors import Conflict, InvalidField
from ferry.events.release import ActionState, ImprovementAction

MOVES: dict[ActionState, frozenset[ActionState]] = {
    ActionState.OPEN: frozenset({ActionState.IN_PROGRESS, ActionState.DONE, ActionState.DROPPED}),
    ActionState.IN_PROGRESS: frozenset({ActionState.OPEN, ActionState.DONE, ActionState.DROPPED}),
    ActionState.DONE: frozenset(),
    ActionState.DROPPED: frozenset(),
}
"""Where an action may go from each state: `done` and `dropped` are final (what is still
to improve then is a new action, from a new review)."""

UNFINISHED = frozenset({ActionState.OPEN, ActionState.IN_PROGRESS})


class InvalidAction(InvalidField):
    """A change to an improvement action that breaks a rule, naming the field at fault."""


class ActionMoveRefused(Conflict):
    """A move the action's state does not allow."""

    title = "Invalid transition"

    def __init__(self, action: Action, state: ActionState) -> None:
        allowed = ", ".join(sorted(MOVES[action.state])) or "nowhere: it is final"
        super().__init__(
            f"improvement action {action.action_id} is {action.state}, not to go {state}; "
            f"it may go to {allowed}"
        )


@dataclass(frozen=True)
class Action:
    """An improvement action as its events tell it."""

    action_id: UUID
    description: str
    owner: str
    due: date | None
    state: ActionState = ActionState.OPEN
    note: str = ""

    @classmethod
    def raised(cls, action: ImprovementAction) -> Action:
        return cls(action.action_id, action.description, action.owner, action.due)

    def overdue(self, today: date) -> bool:
        """Unfinished after its due date."""
        return self.state in UNFINISHED and self.due is not None and self.due < today

    def moved(self, state: ActionState, note: str) -> Action:
        return replace(self, state=state, note=note)

    def reassigned(self, owner: str, due: date | None) -> Action:
        return replace(self, owner=owner, due=due)


def check_move(action: Action, state: ActionState, note: str) -> None:
    """Refuse (409) a move its state does not allow, or (422) a drop without its reason."""
    if state not in MOVES[action.state]:
        raise ActionMoveRefused(action, state)
    if state is ActionState.DROPPED and not note.strip():
        raise InvalidAction("note", "say why the action is dropped")
