"""`ferry` (and `python -m ferry`): Ferry's command line, `ferry.cli.app`."""

from __future__ import annotations

from ferry.cli.app import main

if __name__ == "__main__":
    main()
