"""`python -m els_svc [serve|migrate]`."""

from __future__ import annotations

from ferry.cli import main as run

from els_svc.main import spec


def main() -> None:
    run(spec)


if __name__ == "__main__":
    main()
