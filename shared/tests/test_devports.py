"""Ports for local services: never the same twice in a row, never one in use, and each
pytest worker in its own block."""

from __future__ import annotations

import itertools
import socket

import pytest

from ferry import devports


def test_callers_in_one_expression_get_different_ports() -> None:
    ports = {name: devports.free_port() for name in ("release", "deploy", "dml", "els")}
    assert len(set(ports.values())) == 4
    assert all(port > 60999 for port in ports.values())


def test_a_port_something_listens_on_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        monkeypatch.setattr(devports, "_next", iter([taken, 64999]))
        assert devports.free_port() == 64999


def test_each_worker_draws_from_its_own_block(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = []
    for worker in ("gw0", "gw1", "gw2", "gw3"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        blocks.append(set(itertools.islice(devports._candidates(), 2000)))
    for one, other in itertools.combinations(blocks, 2):
        assert not one & other
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert min(itertools.islice(devports._candidates(), 10)) == 61000
