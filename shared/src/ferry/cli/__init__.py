"""Ferry's command lines.

- `ferry` (`ferry.cli.app`): one command for every team, talking to the services' HTTP
  APIs: releases, media, deployments, Early Life Support, the schedule, dev tokens.
- `python -m <svc> [serve|migrate]` (`ferry.cli.serve`): each service's own entry point,
  which the services import from here as `main`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ferry.service import ServiceSpec


def main(build: Callable[[], ServiceSpec], argv: Sequence[str] | None = None) -> None:
    """Run the service `build` makes: serve its API (default) or apply its migrations."""
    # Imported here, not at the top: `ferry` (and its shell completion, run at every TAB)
    # would otherwise load the whole service stack (FastAPI, SQLAlchemy, uvicorn) for nothing.
    from ferry.cli.serve import main as serve

    serve(build, argv)
