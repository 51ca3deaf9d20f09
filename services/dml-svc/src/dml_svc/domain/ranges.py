"""HTTP `Range` requests (RFC 9110 §14): one byte range of a media item."""

from __future__ import annotations

import re

from ferry.errors import FerryError

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(FerryError):
    status = 416
    title = "Range not satisfiable"

    def __init__(self, size: int) -> None:
        super().__init__(f"the media has {size} bytes")
        self.size = size

    def headers(self) -> dict[str, str]:
        # RFC 9110 §15.5.17: a 416 names the representation's length, so a client can retry.
        return {"Content-Range": f"bytes */{self.size}"}


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte `header` asks for, or None for the whole representation.

    A header this server does not handle (several ranges, another unit, bad syntax) is
    ignored, as the RFC allows: the whole media is served.
    """
    found = _RANGE.match(header.strip()) if header else None
    if found is None:
        return None
    if size == 0:
        raise RangeNotSatisfiable(size)
    first, last = found.groups()
    if not first and not last:
        return None
    if not first:  # the final `last` bytes
        if int(last) == 0:
            raise RangeNotSatisfiable(size)
        return max(size - int(last), 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise RangeNotSatisfiable(size)
    return start, end
