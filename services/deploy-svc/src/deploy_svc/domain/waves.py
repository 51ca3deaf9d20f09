"""How a strategy splits an environment's targets into waves."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ferry.errors import InvalidField
from ferry.events.deploy import Strategy


def waves(
    strategy: Strategy,
    targets: Sequence[str],
    *,
    sizes: Sequence[int] = (),
    percentages: Sequence[float] = (),
    canary: int = 1,
) -> list[list[str]]:
    """The targets in waves, in order.

    Big bang: one wave. Phased: waves of the given `sizes` or `percentages` (the last wave
    takes what is left). Canary: `canary` targets first, then the rest.
    """
    if not targets:
        raise InvalidField("targets", "a deployment needs at least one target")
    if strategy is Strategy.BIG_BANG:
        return [list(targets)]
    if strategy is Strategy.CANARY:
        if not 1 <= canary < len(targets):
            raise InvalidField(
                "canary", f"must leave targets for a second wave: 1 to {len(targets) - 1}"
            )
        return [list(targets[:canary]), list(targets[canary:])]
    if bool(sizes) == bool(percentages):
        raise InvalidField("waves", "a phased deployment gives either sizes or percentages")
    counts = list(sizes) if sizes else _counts(percentages, len(targets))
    return _split(targets, counts)


def _counts(percentages: Sequence[float], total: int) -> list[int]:
    if any(p <= 0 for p in percentages) or sum(percentages) > 100 + 1e-9:
        raise InvalidField("waves", "percentages are positive and add up to at most 100")
    # Rounded up, so no wave is empty; the remainder goes last.
    return [max(1, math.ceil(total * p / 100)) for p in percentages]


def _split(targets: Sequence[str], counts: Sequence[int]) -> list[list[str]]:
    if any(c < 1 for c in counts):
        raise InvalidField("waves", "every wave has at least one target")
    result, start = [], 0
    for count in counts:
        if start >= len(targets):
            break
        result.append(list(targets[start : start + count]))
        start += count
    if start < len(targets):
        result.append(list(targets[start:]))
    return result
