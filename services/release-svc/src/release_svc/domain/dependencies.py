"""Dependencies between releases: a release may depend on others, never in a cycle."""

from __future__ import annotations

from collections.abc import Mapping, Set
from uuid import UUID


def find_cycle(
    release: UUID, depends_on: Set[UUID], graph: Mapping[UUID, Set[UUID]]
) -> list[UUID] | None:
    """The cycle `release` would close by depending on `depends_on`, as a path from it back
    to it; None if there is none. `graph` holds every other release's dependencies."""
    edges = {**graph, release: depends_on}
    path: list[UUID] = [release]
    on_path = {release}
    done: set[UUID] = set()

    def walk(node: UUID) -> list[UUID] | None:
        for nxt in sorted(edges.get(node, ())):
            if nxt == release:
                return [*path, release]
            if nxt in on_path or nxt in done:
                continue  # a cycle not through `release` was refused when it formed
            path.append(nxt)
            on_path.add(nxt)
            if (found := walk(nxt)) is not None:
                return found
            on_path.discard(path.pop())
            done.add(nxt)
        return None

    return walk(release)
