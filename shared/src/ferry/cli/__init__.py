"""Ferry's command lines.

- `ferry` (`ferry.cli.app`): one command for every team, talking to the services' HTTP
  APIs: releases, media, deployments, Early Life Support, the schedule, dev tokens, audit.
- `python -m <svc> [serve|migrate]` (`ferry.cli.serve`): each service's own entry point.

Nothing is imported here: `ferry` (and its shell completion, run at every TAB) must not load
the service stack (FastAPI, SQLAlchemy, uvicorn) that `serve` needs.
"""
