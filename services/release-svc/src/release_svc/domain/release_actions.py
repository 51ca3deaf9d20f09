"""The decisions on a release's improvement actions, after its review."""

from __future__ import annotations

from uuid import UUID

from ferry.errors import Forbidden, NotFound
from ferry.events.release import (
    ImprovementActionProgressed,
    ImprovementActionReassigned,
    ReleaseEvent,
)
from release_svc.domain.actions import UNFINISHED, Action, InvalidAction, check_move
from release_svc.domain.commands import ProgressAction, ReassignAction
from release_svc.domain.release_state import ReleaseState


class NotTheActionOwner(Forbidden):
    """Only an action's owner, or its release's manager or owners, move it on."""


class ReleaseActions(ReleaseState):
    def progress_action(self, cmd: ProgressAction) -> list[ReleaseEvent]:
        action = self._action(cmd.action_id)
        if cmd.by != action.owner and not self._manages(cmd.by):
            raise NotTheActionOwner(
                f"only the action's owner, {action.owner or 'none yet'}, or the release's "
                f"manager, {self.release_manager}, or its owners may move it on"
            )
        check_move(action, cmd.state, cmd.note)
        return [
            ImprovementActionProgressed(
                release_id=self.id,
                action_id=action.action_id,
                state=cmd.state,
                note=cmd.note.strip(),
                by=cmd.by,
            )
        ]

    def reassign_action(self, cmd: ReassignAction) -> list[ReleaseEvent]:
        action = self._action(cmd.action_id)
        self._check_manager(cmd.by)
        if action.state not in UNFINISHED:
            raise InvalidAction("owner", f"the action is {action.state}: it has no more work")
        if not cmd.owner.strip():
            raise InvalidAction("owner", "name who owns the action")
        if (cmd.owner, cmd.due) == (action.owner, action.due):
            return []
        return [
            ImprovementActionReassigned(
                release_id=self.id,
                action_id=action.action_id,
                owner=cmd.owner.strip(),
                due=cmd.due,
                by=cmd.by,
            )
        ]

    def _action(self, action_id: UUID) -> Action:
        try:
            return self.actions[action_id]
        except KeyError:
            raise NotFound(f"no improvement action {action_id}") from None
