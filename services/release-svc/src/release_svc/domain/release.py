"""The Release aggregate: decide on commands, evolve by events.

Its state and evolution are in `release_state`, its decisions in `release_planning` (the
plan), `release_control` (package, gates, what other services report, review) and
`release_actions` (the review's improvement actions); the commands it takes are in
`commands`.
"""

from __future__ import annotations

from release_svc.domain.release_actions import ReleaseActions
from release_svc.domain.release_control import ReleaseControl
from release_svc.domain.release_planning import ReleasePlanning


class Release(ReleasePlanning, ReleaseControl, ReleaseActions):
    """A release as its events tell it. `version` is its stream version (the ETag)."""
