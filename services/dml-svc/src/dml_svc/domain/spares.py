"""A spare of the Definitive Hardware Store: a stock of one part at one revision level, in one
location, and the configuration items (CIs) a unit of it can replace in live."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from uuid import UUID

from ferry.errors import Conflict, InvalidField, InvalidTransition
from ferry.events.dml import (
    SpareEvent,
    SpareRegistered,
    SpareReplaced,
    SpareReturned,
    SpareRevisionOutOfDate,
    SpareWithdrawn,
)
from ferry.eventsourced import EventSourced

_REVISION_PIECES = re.compile(r"\d+|[A-Za-z]+")


class InvalidSpare(InvalidField):
    """A spare's field, or a command's, that breaks a rule of the store; names the field."""


class ChangeNotApproved(InvalidField):
    """Nothing goes into live without an approved request for change."""


class NotEnoughInStore(Conflict):
    """The store holds fewer units than asked for: quantities never go below zero."""


def revision_key(revision: str) -> tuple[tuple[int, int | str], ...]:
    """Revision levels in their natural order: numbers by value, letters alphabetically and
    case-blind, piece by piece (B < C, 1.9 < 1.10, A < A1)."""
    return tuple(
        (0, int(piece)) if piece.isdigit() else (1, piece.upper())
        for piece in _REVISION_PIECES.findall(revision)
    )


def older(revision: str, than: str) -> bool:
    return revision_key(revision) < revision_key(than)


def _positive(quantity: int) -> int:
    if quantity < 1:
        raise InvalidSpare("quantity", "must be at least 1")
    return quantity


@dataclass(frozen=True)
class RegisterSpare:
    spare_id: UUID
    model: str
    part_number: str
    revision: str
    quantity: int
    location: str
    replaces: tuple[str, ...]


@dataclass
class Withdrawal:
    """Units taken into live under an RFC and not yet returned or replaced."""

    number: int
    rfc: str
    withdrawn_by: str
    outstanding: int


@dataclass
class Spare(EventSourced):
    """A spare as its events tell it."""

    id: UUID
    version: int = 0
    model: str = ""
    part_number: str = ""
    revision: str = ""
    location: str = ""
    replaces: tuple[str, ...] = ()
    in_store: int = 0
    withdrawals: dict[int, Withdrawal] = field(default_factory=dict)
    """The open withdrawals, by number."""
    withdrawn: int = 0
    """How many withdrawals there have been: the next one's number is one more."""
    out_of_date_for: dict[str, str] = field(default_factory=dict)
    """The CIs whose live revision is newer than the spare's, with that live revision."""

    @property
    def out_of_date(self) -> bool:
        return bool(self.out_of_date_for)

    @property
    def in_live(self) -> int:
        return sum(w.outstanding for w in self.withdrawals.values())

    def register(self, cmd: RegisterSpare) -> list[SpareEvent]:
        """Put a new stock into the store."""
        if self.exists:
            raise InvalidTransition(self.id, "registered", "register")
        if not cmd.replaces:
            raise InvalidSpare("replaces", "name at least one configuration item")
        return [
            SpareRegistered(
                spare_id=self.id,
                model=cmd.model,
                part_number=cmd.part_number,
                revision=cmd.revision,
                quantity=_positive(cmd.quantity),
                location=cmd.location,
                replaces=sorted(set(cmd.replaces)),
            )
        ]

    def withdraw(
        self, quantity: int, rfc: str, approved_rfcs: Collection[str], by: str
    ) -> list[SpareEvent]:
        """Take `quantity` units into live under `rfc`, which must be among `approved_rfcs`."""
        _positive(quantity)
        if rfc not in approved_rfcs:
            raise ChangeNotApproved(
                "rfc", f"{rfc} is not an approved request for change known to the library"
            )
        if quantity > self.in_store:
            raise NotEnoughInStore(
                f"spare {self.id} has {self.in_store} unit(s) in store; {quantity} asked for"
            )
        return [
            SpareWithdrawn(
                spare_id=self.id,
                withdrawal=self.withdrawn + 1,
                quantity=quantity,
                rfc=rfc,
                withdrawn_by=by,
                remaining=self.in_store - quantity,
            )
        ]

    def take_back(self, withdrawal: int, quantity: int, by: str) -> list[SpareEvent]:
        """Units of `withdrawal` come back into the store."""
        self._outstanding(withdrawal, quantity)
        return [
            SpareReturned(
                spare_id=self.id, withdrawal=withdrawal, quantity=quantity, returned_by=by
            )
        ]

    def replace(self, withdrawal: int, quantity: int, by: str) -> list[SpareEvent]:
        """Units of `withdrawal` stay in live; as many new ones restock the store."""
        self._outstanding(withdrawal, quantity)
        return [
            SpareReplaced(
                spare_id=self.id, withdrawal=withdrawal, quantity=quantity, replaced_by=by
            )
        ]

    def note_live_revision(self, configuration_item: str, live_revision: str) -> list[SpareEvent]:
        """Flag the spare if `configuration_item`, which it replaces, now runs a newer revision
        in live. Once per newer revision: the same one again decides nothing."""
        if configuration_item not in self.replaces or not older(self.revision, live_revision):
            return []
        flagged = self.out_of_date_for.get(configuration_item)
        if flagged is not None and not older(flagged, live_revision):
            return []
        return [
            SpareRevisionOutOfDate(
                spare_id=self.id,
                configuration_item=configuration_item,
                live_revision=live_revision,
                revision=self.revision,
            )
        ]

    def _outstanding(self, withdrawal: int, quantity: int) -> None:
        _positive(quantity)
        open_ = self.withdrawals.get(withdrawal)
        if open_ is None:
            raise InvalidSpare("withdrawal", f"spare {self.id} has no open withdrawal {withdrawal}")
        if quantity > open_.outstanding:
            raise InvalidSpare(
                "quantity", f"withdrawal {withdrawal} has {open_.outstanding} unit(s) outstanding"
            )

    def _evolve(self, event: SpareEvent) -> None:
        match event:
            case SpareRegistered():
                self.model = event.model
                self.part_number = event.part_number
                self.revision = event.revision
                self.location = event.location
                self.replaces = tuple(event.replaces)
                self.in_store = event.quantity
            case SpareWithdrawn():
                self.withdrawn = event.withdrawal
                self.in_store -= event.quantity
                self.withdrawals[event.withdrawal] = Withdrawal(
                    event.withdrawal, event.rfc, event.withdrawn_by, event.quantity
                )
            case SpareReturned() | SpareReplaced():
                # Either way the store gets the units back (the same ones, or new ones in
                # their place) and the withdrawal is settled that far.
                self.in_store += event.quantity
                open_ = self.withdrawals[event.withdrawal]
                open_.outstanding -= event.quantity
                if open_.outstanding == 0:
                    del self.withdrawals[event.withdrawal]
            case SpareRevisionOutOfDate():
                self.out_of_date_for[event.configuration_item] = event.live_revision
