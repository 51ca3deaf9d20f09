"""`python -m release_svc [serve|migrate]`."""

from __future__ import annotations

from ferry.cli.serve import main as run
from release_svc.main import spec


def main() -> None:
    run(spec)


if __name__ == "__main__":
    main()
