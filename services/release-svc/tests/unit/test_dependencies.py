from __future__ import annotations

from uuid import UUID, uuid4

from release_svc.domain.dependencies import find_cycle

A, B, C, D = (uuid4() for _ in range(4))


def test_no_cycle_in_a_chain() -> None:
    assert find_cycle(A, {B}, {B: {C}, C: set(), D: {B}}) is None


def test_a_direct_cycle_is_found_as_a_path_back_to_the_release() -> None:
    assert find_cycle(A, {B}, {B: {A}}) == [A, B, A]


def test_an_indirect_cycle_is_found() -> None:
    assert find_cycle(A, {D, B}, {B: {C}, C: {A}, D: set()}) == [A, B, C, A]


def test_depending_on_itself_is_a_cycle() -> None:
    assert find_cycle(A, {A}, {}) == [A, A]


def test_a_diamond_is_no_cycle() -> None:
    graph: dict[UUID, set[UUID]] = {B: {D}, C: {D}, D: set()}
    assert find_cycle(A, {B, C}, graph) is None
