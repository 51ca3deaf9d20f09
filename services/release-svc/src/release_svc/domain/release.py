"""The Release aggregate: decide on commands, evolve by events.

Its state and evolution are in `release_state`, its decisions in `release_planning` (the
plan) and `release_control` (package, gates, what other services report, review); the
commands it takes are in `commands`.
"""

from __future__ import annotations

from release_svc.domain.release_control import ReleaseControl
from release_svc.domain.release_planning import ReleasePlanning


class Release(ReleasePlanning, ReleaseControl):
    """A release as its events tell it. `version` is its stream version (the ETag)."""
