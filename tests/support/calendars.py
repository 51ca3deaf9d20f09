"""Reading an iCalendar feed back in tests, strictly: CRLF only, lines of 75 octets at most."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_UNESCAPE = re.compile(r"\\([\\;,nN])")


def unescape(value: str) -> str:
    return _UNESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


@dataclass
class Component:
    """A VCALENDAR or VEVENT: its properties (name → raw value) and its components."""

    name: str
    properties: dict[str, str] = field(default_factory=dict)
    components: list[Component] = field(default_factory=list)

    def text(self, name: str) -> str:
        return unescape(self.properties[name])


def content_lines(body: bytes) -> list[str]:
    """The unfolded content lines; asserts the physical lines are as RFC 5545 wants them."""
    assert body.endswith(b"\r\n"), "the last line ends with CRLF"
    physical = body.split(b"\r\n")[:-1]
    for line in physical:
        assert b"\r" not in line, f"a bare CR in {line!r}"
        assert b"\n" not in line, f"a bare LF in {line!r}"
        assert len(line) <= 75, f"{len(line)} octets: {line!r}"
        line.decode()  # folding never cuts a UTF-8 character in two
    unfolded: list[str] = []
    for line in physical:
        text = line.decode()
        if text.startswith(" "):
            unfolded[-1] += text[1:]
        else:
            unfolded.append(text)
    return unfolded


def parse(body: bytes) -> Component:
    """The VCALENDAR in `body` (parameters, which the feed has none of, are not split off)."""
    stack: list[Component] = []
    root: Component | None = None
    for line in content_lines(body):
        name, _, value = line.partition(":")
        if name == "BEGIN":
            component = Component(value)
            if stack:
                stack[-1].components.append(component)
            stack.append(component)
        elif name == "END":
            done = stack.pop()
            assert done.name == value, f"END:{value} closes {done.name}"
            root = done
        else:
            stack[-1].properties[name] = value
    assert not stack, "every component ends"
    assert root is not None, "one complete VCALENDAR"
    return root
