"""Where in a JSON document the characters PostgreSQL cannot store are found."""

from __future__ import annotations

import json
import sys

from ferry.characters import unstorable


def test_every_nul_and_lone_surrogate_is_found_by_its_path_keys_included() -> None:
    document = {"a": [1, {"k\u0000": "fine", "b": "y\ud800"}], "prose": "line\nand\ttab"}
    assert list(unstorable(document)) == [("a", 1, "k\\x00"), ("a", 1, "b")]


def test_a_document_nested_deeper_than_the_recursion_limit_is_walked() -> None:
    depth = 5 * sys.getrecursionlimit()
    text = "[" * depth + '"\\u0000"' + "]" * depth
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 1000)
    try:
        document = json.loads(text)
    finally:
        sys.setrecursionlimit(limit)
    (found,) = unstorable(document)
    assert found == (0,) * depth
