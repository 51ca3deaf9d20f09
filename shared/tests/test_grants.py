"""Roles held everywhere or for a team: how a claim names them, and who may act on what."""

from __future__ import annotations

import pytest

from ferry.auth import ROLE_NAMES, TEAM_ROLES, Allow, Principal, Role, grants_of
from ferry.errors import Forbidden
from ferry.grants import Grant, OutsideTeam, parse_grant, require

PAYMENTS_DEPLOYER = Grant("deployer", "payments")


@pytest.mark.parametrize(
    ("name", "grant"),
    [
        ("deployer", Grant("deployer")),
        ("payments:deployer", PAYMENTS_DEPLOYER),
        ("team-7:tester", Grant("tester", "team-7")),
        ("payments:pilot", None),
        ("payments:change-authority", None),
        ("payments:dml-librarian", None),
        ("Payments:deployer", None),
        (":deployer", None),
        ("a:b:deployer", None),
        ("payments:", None),
        ("", None),
    ],
)
def test_a_grant_is_a_role_or_a_team_and_a_role(name: str, grant: Grant | None) -> None:
    assert parse_grant(name, ROLE_NAMES, TEAM_ROLES) == grant


def test_a_role_map_may_map_a_group_onto_a_teams_role_and_stays_an_allow_list() -> None:
    claims = {"groups": ["pay-deployers", "deployer", "payments:tester"]}
    role_map = {"pay-deployers": "payments:deployer", "cab": "change-authority"}
    assert grants_of(claims, "groups", role_map) == {PAYMENTS_DEPLOYER}
    assert grants_of(claims, "groups", {}) == {Grant("deployer"), Grant("tester", "payments")}


def test_a_global_role_reaches_everything() -> None:
    require({Grant("deployer")}, [Role.DEPLOYER], ["identity"], "environment prod-identity")
    require({Grant("deployer")}, [Role.DEPLOYER], [], "environment shared")


def test_a_teams_role_reaches_only_what_the_team_owns() -> None:
    require({PAYMENTS_DEPLOYER}, [Role.DEPLOYER], ["payments"], "environment prod-payments")
    require({PAYMENTS_DEPLOYER}, [Role.DEPLOYER], ["identity", "payments"], "release REL-1")
    with pytest.raises(OutsideTeam) as refused:
        require({PAYMENTS_DEPLOYER}, [Role.DEPLOYER], ["identity"], "environment prod-identity")
    assert "belongs to team identity" in str(refused.value)
    assert "yours: payments" in str(refused.value)
    assert refused.value.extensions() == {"rule": "team-scope", "teams": ["identity"]}


def test_what_no_team_owns_needs_the_role_everywhere() -> None:
    with pytest.raises(Forbidden, match="belongs to no team"):
        require({PAYMENTS_DEPLOYER}, [Role.DEPLOYER], [], "environment shared")


def test_another_role_for_the_team_is_not_enough() -> None:
    with pytest.raises(OutsideTeam):
        require({Grant("tester", "payments")}, [Role.DEPLOYER], ["payments"], "environment x")


def test_a_route_lets_team_roles_in_only_when_it_checks_the_team() -> None:
    payments = Principal("pam", frozenset(), team_grants=frozenset({PAYMENTS_DEPLOYER}))
    assert Allow(Role.DEPLOYER, scoped=True).admit(payments) is payments
    with pytest.raises(Forbidden, match="held for every team"):
        Allow(Role.DEPLOYER).admit(payments)
    everywhere = Principal("dan", frozenset({Role.DEPLOYER}))
    assert Allow(Role.DEPLOYER).admit(everywhere) is everywhere
    assert payments.grants == {PAYMENTS_DEPLOYER}
    assert everywhere.grants == {Grant("deployer")}
