"""Spares of the Definitive Hardware Store: into live only under an approved RFC, never more
than the store holds, back by return or replacement, flagged when live moves past them."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from dml_svc.domain.spares import (
    ChangeNotApproved,
    InvalidSpare,
    NotEnoughInStore,
    RegisterSpare,
    Spare,
    older,
)
from dml_svc.handlers import spares as spares_handlers
from dml_svc.testing import InMemoryViews
from ferry.envelope import Meta
from ferry.errors import ConcurrencyError, Forbidden
from ferry.events.dml import SpareEvent, SpareRevisionOutOfDate, SpareWithdrawn
from ferry.grants import Acting, Grant, OutsideTeam
from ferry.teams import Owned
from ferry.testing import InMemoryUnitOfWork

APPROVED = frozenset({"RFC-7"})
META = Meta("lib", "test")


def register(
    quantity: int = 2, revision: str = "C", replaces: tuple[str, ...] = ("db-1-psu", "db-2-psu")
) -> RegisterSpare:
    return RegisterSpare(
        uuid4(), "PowerEdge R740", "PSU-750W", revision, quantity, "DC1 cage 4", replaces
    )


def decided(spare: Spare, events: list[SpareEvent]) -> Spare:
    for event in events:
        spare.apply(event)
    return spare


def registered(quantity: int = 2, revision: str = "C") -> Spare:
    cmd = register(quantity, revision)
    spare = Spare(cmd.spare_id)
    return decided(spare, spare.register(cmd))


@pytest.mark.parametrize(
    ("revision", "than"),
    [("A", "B"), ("b", "C"), ("1.9", "1.10"), ("A", "A1"), ("2", "10"), ("rev-2", "rev-11")],
)
def test_revision_levels_compare_in_their_natural_order(revision: str, than: str) -> None:
    assert older(revision, than)
    assert not older(than, revision)
    assert not older(revision, revision)


def test_a_spare_needs_units_and_a_configuration_item_to_replace() -> None:
    with pytest.raises(InvalidSpare) as no_units:
        Spare(uuid4()).register(register(quantity=0))
    assert no_units.value.field == "quantity"
    with pytest.raises(InvalidSpare) as nothing_to_replace:
        Spare(uuid4()).register(register(replaces=()))
    assert nothing_to_replace.value.field == "replaces"


@pytest.mark.parametrize("rfc", ["RFC-8", "rfc-7", ""])
def test_nothing_goes_into_live_without_an_approved_rfc(rfc: str) -> None:
    with pytest.raises(ChangeNotApproved) as refused:
        registered().withdraw(1, rfc, APPROVED, by="dora")
    assert refused.value.field == "rfc"


def test_withdrawals_are_numbered_and_never_take_more_than_the_store_holds() -> None:
    spare = registered(quantity=2)
    [first] = spare.withdraw(1, "RFC-7", APPROVED, by="dora")
    assert isinstance(first, SpareWithdrawn)
    assert (first.withdrawal, first.remaining) == (1, 1)
    decided(spare, [first])
    with pytest.raises(NotEnoughInStore):
        spare.withdraw(2, "RFC-7", APPROVED, by="dora")
    decided(spare, spare.withdraw(1, "RFC-7", APPROVED, by="dora"))
    assert (spare.in_store, spare.in_live, sorted(spare.withdrawals)) == (0, 2, [1, 2])
    with pytest.raises(NotEnoughInStore):
        spare.withdraw(1, "RFC-7", APPROVED, by="dora")
    with pytest.raises(InvalidSpare):
        spare.withdraw(0, "RFC-7", APPROVED, by="dora")


def test_units_come_back_by_return_or_replacement_and_settle_their_withdrawal() -> None:
    spare = registered(quantity=3)
    decided(spare, spare.withdraw(2, "RFC-7", APPROVED, by="dora"))
    decided(spare, spare.take_back(1, 1, by="lib"))
    assert (spare.in_store, spare.withdrawals[1].outstanding) == (2, 1)
    decided(spare, spare.replace(1, 1, by="lib"))
    assert (spare.in_store, spare.in_live, spare.withdrawals) == (3, 0, {})


@pytest.mark.parametrize(
    ("withdrawal", "quantity", "field"), [(2, 1, "withdrawal"), (1, 3, "quantity")]
)
def test_only_what_a_withdrawal_took_can_come_back(
    withdrawal: int, quantity: int, field: str
) -> None:
    spare = registered(quantity=3)
    decided(spare, spare.withdraw(2, "RFC-7", APPROVED, by="dora"))
    for settle in (spare.take_back, spare.replace):
        with pytest.raises(InvalidSpare) as refused:
            settle(withdrawal, quantity, "lib")
        assert refused.value.field == field


def test_a_newer_live_revision_flags_the_spare_once_per_revision() -> None:
    spare = registered(revision="C")
    [flag] = spare.note_live_revision("db-1-psu", "D")
    assert isinstance(flag, SpareRevisionOutOfDate)
    assert (flag.live_revision, flag.revision) == ("D", "C")
    decided(spare, [flag])
    assert spare.out_of_date_for == {"db-1-psu": "D"}
    assert spare.note_live_revision("db-1-psu", "D") == []  # told already
    assert spare.note_live_revision("db-1-psu", "C") == []  # not newer than the one told
    assert len(spare.note_live_revision("db-1-psu", "E")) == 1  # further behind now


@pytest.mark.parametrize(("item", "live"), [("db-1-psu", "C"), ("db-1-psu", "B"), ("web-1", "Z")])
def test_the_same_or_an_older_revision_or_another_item_flags_nothing(item: str, live: str) -> None:
    assert registered(revision="C").note_live_revision(item, live) == []


async def test_a_spare_behind_live_already_is_flagged_as_it_is_registered() -> None:
    uow, views = InMemoryUnitOfWork(), InMemoryViews()
    cmd = register(revision="C")
    spare = await spares_handlers.register_spare(cmd, uow, views, META, {"db-2-psu": "D"})
    assert [e.type for e in uow.events.published] == ["SpareRegistered", "SpareRevisionOutOfDate"]
    assert (spare.version, spare.out_of_date_for) == (2, {"db-2-psu": "D"})
    again = await spares_handlers.get_spare(uow, cmd.spare_id)
    assert again == spare
    assert views.spares[cmd.spare_id] == spare  # the spares list shows it flagged


async def test_concurrent_withdrawals_of_the_last_unit_let_exactly_one_win() -> None:
    uow, views = InMemoryUnitOfWork(), InMemoryViews()
    cmd = register(quantity=1)
    await spares_handlers.register_spare(cmd, uow, views, META, {})

    async def withdraw(by: str) -> Spare:
        return await spares_handlers.change_spare(
            uow, views, cmd.spare_id, 1, META, lambda s: s.withdraw(1, "RFC-7", APPROVED, by), None
        )

    outcomes = await asyncio.gather(withdraw("dora"), withdraw("dan"), return_exceptions=True)
    assert sum(isinstance(o, Spare) for o in outcomes) == 1
    assert sum(isinstance(o, ConcurrencyError) for o in outcomes) == 1
    spare = await spares_handlers.get_spare(uow, cmd.spare_id)
    assert (spare.in_store, spare.in_live) == (0, 1)
    assert views.spares[cmd.spare_id] == spare


async def test_a_teams_deployer_withdraws_only_for_items_its_team_owns() -> None:
    uow, views = InMemoryUnitOfWork(), InMemoryViews()
    cmd = register(quantity=2)  # replaces db-1-psu and db-2-psu
    await spares_handlers.register_spare(cmd, uow, views, META, {})
    deployers = frozenset({"deployer", "dml-librarian"})

    def acting(*teams: str) -> Acting:
        return Acting(frozenset(Grant("deployer", team) for team in teams), deployers)

    async def withdraw(by: Acting) -> Spare:
        decide = lambda s: s.withdraw(1, "RFC-7", APPROVED, "pam")  # noqa: E731
        return await spares_handlers.change_spare(uow, views, cmd.spare_id, 1, META, decide, by)

    views.owners = {(Owned.CONFIGURATION_ITEM, "db-1-psu"): "payments"}
    with pytest.raises(Forbidden, match="configuration item db-2-psu belongs to no team"):
        await withdraw(acting("payments"))
    views.owners[Owned.CONFIGURATION_ITEM, "db-2-psu"] = "identity"
    with pytest.raises(OutsideTeam, match="belongs to team identity"):
        await withdraw(acting("payments"))
    assert views.spares[cmd.spare_id].in_live == 0
    spare = await withdraw(acting("payments", "identity"))
    assert spare.in_live == 1
