"""Bodies of the improvement actions' routes."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from ferry.events.release import ActionState
from ferry.fields import Day, Line, Notes
from release_svc.domain.actions import Action
from release_svc.domain.release import Release


class ActionMoveIn(BaseModel):
    """Where the action goes: started, done, dropped (`note` says why) or back to open."""

    model_config = ConfigDict(extra="forbid")

    state: ActionState
    note: Notes = Field(default="", description="what was done; why it is dropped (required)")


class ActionAssignmentIn(BaseModel):
    """Who owns the action now, and by when it is due."""

    model_config = ConfigDict(extra="forbid")

    owner: Line
    due: Day | None = None


class ImprovementActionOut(BaseModel):
    """An improvement action raised by a release's review."""

    action_id: UUID
    release_id: UUID
    release_identifier: str
    release_name: str
    description: str
    owner: str
    due: date | None
    state: ActionState
    note: str
    """What was done, or why it was dropped."""
    overdue: bool
    """Unfinished after its due date."""
    version: int
    """The release's version, whose stream holds the action: the `If-Match` of a change."""

    @classmethod
    def of(cls, release: Release, action_id: UUID, today: date) -> ImprovementActionOut:
        action = release.actions[action_id]
        return cls._of(action, release.id, release.identifier, release.name, release.version, today)

    @classmethod
    def of_row(cls, row: asyncpg.Record, today: date) -> ImprovementActionOut:
        action = Action(
            row["action_id"],
            row["description"],
            row["owner"],
            row["due"],
            ActionState(row["state"]),
            row["note"],
        )
        return cls._of(
            action, row["release_id"], row["identifier"], row["name"], row["stream_version"], today
        )

    @classmethod
    def _of(
        cls,
        action: Action,
        release_id: UUID,
        identifier: str,
        name: str,
        version: int,
        today: date,
    ) -> ImprovementActionOut:
        return cls(
            action_id=action.action_id,
            release_id=release_id,
            release_identifier=identifier,
            release_name=name,
            description=action.description,
            owner=action.owner,
            due=action.due,
            state=action.state,
            note=action.note,
            overdue=action.overdue(today),
            version=version,
        )


class ImprovementActionPage(BaseModel):
    """A page of actions; `next` is the cursor of the following page, or null at the end."""

    items: list[ImprovementActionOut]
    next: str | None
