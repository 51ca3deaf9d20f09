"""How a deployment goes through an environment's targets: a value both release policies
(the least a risk level allows) and deployments name."""

from __future__ import annotations

from enum import StrEnum


class Strategy(StrEnum):
    """Big bang (all at once), phased (in waves) or canary (a few first, then the rest),
    from the least careful to the most."""

    BIG_BANG = "big_bang"
    PHASED = "phased"
    CANARY = "canary"

    @property
    def care(self) -> int:
        """How careful it is: a policy asking for a strategy accepts any at least as careful."""
        return list(Strategy).index(self)
