"""Ports for the services tests and benchmarks start on this machine.

Asking the kernel for port 0 is not enough: it may hand the same free port to two callers
that ask before either listens (two services of one stack, made in one expression), and a
port in the ephemeral range can be taken by any outgoing connection before the service
binds it. So ports come from above that range, each pytest worker (pytest-xdist's
`PYTEST_XDIST_WORKER`, gw0, gw1, …) from its own block, in turn: a port is given again only
once the process has gone through its whole block.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
from collections.abc import Iterator

_FIRST = 61000
"""Above Linux's default ephemeral range (32768 to 60999) and every fixed port of the stacks."""
_LAST = 65535
_WORKERS = 4
"""Blocks the range is cut into; worker n draws from block n modulo this."""
_BLOCK = (_LAST - _FIRST + 1) // _WORKERS


def _worker() -> int:
    found = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
    return int(found.group(1)) if found else 0


def _candidates() -> Iterator[int]:
    start = _FIRST + (_worker() % _WORKERS) * _BLOCK
    # Wrapping round is safe: a port given out that long ago belonged to a finished test.
    return itertools.cycle(range(start, start + _BLOCK))


_next = _candidates()


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nothing listens on, not given to any other caller since this worker's block
    last came round."""
    for _ in range(_BLOCK):
        port = next(_next)
        if _bindable(port):
            return port
    raise RuntimeError(f"no free port left in this worker's block of {_FIRST} to {_LAST}")
