"""`python -m dml_svc [serve|migrate]`."""

from __future__ import annotations

from dml_svc.main import spec
from ferry.cli.serve import main as run


def main() -> None:
    run(spec)


if __name__ == "__main__":
    main()
