"""A target's watch: each change behind Ferry's back reported once, and its end once."""

from __future__ import annotations

from deploy_svc.domain.drift import TargetWatch


def test_a_change_is_reported_once_then_cleared_once() -> None:
    watch = TargetWatch("production", "web-2")
    assert watch.looked("1.0", "1.0") == []
    [found] = watch.looked("1.0", "0.9-hotfix")
    assert (found.type, found.expected, found.found) == (
        "UnauthorisedChangeDetected",
        "1.0",
        "0.9-hotfix",
    )
    watch.apply(found)
    assert watch.looked("1.0", "0.9-hotfix") == []  # the same finding: reported already
    [again] = watch.looked("1.0", None)  # something else again: taken off by hand
    assert again.found is None
    watch.apply(again)
    [cleared] = watch.looked("1.0", "1.0")
    assert (cleared.type, cleared.version) == ("UnauthorisedChangeCleared", "1.0")
    watch.apply(cleared)
    assert watch.looked("1.0", "1.0") == []
