"""Every change of stock. Each is a conditional UPDATE the database checks (never read-then-write in
Python) plus a ledger row, in one transaction; a change that would oversell changes nothing and
raises OUT_OF_STOCK.

Quantities are whole units. `actor` is a User, an ApiToken or None (the system).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q

from omnia.core import bulk, clock
from omnia.core.audit import do_record_audit
from omnia.core.events import publish_on_commit
from omnia.core.permissions import Role
from omnia.inventory.errors import (
    CorrectionNotAllowed,
    InvalidQuantity,
    OutOfStock,
    ReasonRequired,
    WrongState,
)
from omnia.inventory.events import BackInStock, StockChanged
from omnia.inventory.models import (
    Location,
    Reservation,
    StockLevel,
    StockMove,
    Supply,
    SupplyLine,
    Transfer,
    TransferLine,
)

MAX_QUANTITY = 1_000_000
MAX_REASON = 300
CORRECTING_ROLES = frozenset({Role.OWNER, Role.MANAGER})


@dataclass(frozen=True)
class Line:
    """A variant and a quantity (a document line)."""

    variant: Any  # catalog.Variant
    quantity: int


def clean_quantity(quantity: Any, *, field: str = "quantity") -> int:
    """A whole number of units above zero (ValidationFailed QUANTITY_INVALID otherwise)."""
    if isinstance(quantity, bool):
        raise InvalidQuantity("The quantity is a whole number of units.", field=field)
    try:
        number = int(str(quantity).strip())
    except (TypeError, ValueError):
        raise InvalidQuantity("The quantity is a whole number of units.", field=field) from None
    return _in_range(number, field=field)


def _in_range(quantity: int, *, field: str) -> int:
    if quantity <= 0:
        raise InvalidQuantity("The quantity must be above zero.", field=field)
    if quantity > MAX_QUANTITY:
        raise InvalidQuantity(f"The quantity is at most {MAX_QUANTITY}.", field=field)
    return quantity


def _clean_lines(lines: Sequence[Line], *, field: str = "lines") -> list[Line]:
    if not lines:
        raise InvalidQuantity("Add at least one line.", field=field)
    merged: dict[int, Line] = {}
    for index, line in enumerate(lines):
        quantity = clean_quantity(line.quantity, field=f"{field}[{index}].quantity")
        previous = merged.get(line.variant.pk)
        merged[line.variant.pk] = Line(line.variant, quantity + (previous.quantity if previous else 0))
    return list(merged.values())


def _user(actor: Any) -> Any:
    return getattr(actor, "audit_user", None)


def _ensure_level(variant_id: int, location_id: int) -> None:
    """The (variant, location) row exists, so the conditional UPDATE has something to change."""
    if not StockLevel.objects.filter(variant_id=variant_id, location_id=location_id).exists():
        StockLevel.objects.get_or_create(
            variant_id=variant_id, location_id=location_id, defaults={"updated_at": clock.now()}
        )


def _change(
    *,
    variant_id: int,
    location_id: int,
    kind: str,
    actor: Any,
    on_hand: int = 0,
    reserved: int = 0,
    in_transit: int = 0,
    reason: str = "",
    reference: str = "",
) -> StockMove | None:
    """Apply the deltas if the result keeps every invariant; else OutOfStock and nothing changed.
    Returns the ledger row (None for an in-transit-only change: the transfer document holds it).

    The guard is part of the UPDATE's WHERE clause, so two clerks racing for the last unit cannot
    both win: the database serialises the row and the second UPDATE matches nothing.
    """
    if on_hand > 0 or reserved > 0 or in_transit > 0:
        _ensure_level(variant_id, location_id)
    guard = Q(variant_id=variant_id, location_id=location_id)
    if on_hand - reserved < 0:  # available shrinks: what stays available must not go below zero
        guard &= Q(on_hand__gte=F("reserved") + (reserved - on_hand))
    if reserved < 0:
        guard &= Q(reserved__gte=-reserved)
    if in_transit < 0:
        guard &= Q(in_transit__gte=-in_transit)
    now = clock.now()
    updated = StockLevel.objects.filter(guard).update(
        on_hand=F("on_hand") + on_hand,
        reserved=F("reserved") + reserved,
        in_transit=F("in_transit") + in_transit,
        updated_at=now,
    )
    if not updated:
        raise OutOfStock("Not enough available at this location.", field="quantity")
    publish_on_commit(StockChanged(pairs=((variant_id, location_id),)))
    if on_hand - reserved > 0:
        level = StockLevel.objects.filter(variant_id=variant_id, location_id=location_id).values("on_hand", "reserved")
        after = level.get()
        available = after["on_hand"] - after["reserved"]
        if available - (on_hand - reserved) <= 0 < available:
            publish_on_commit(BackInStock(variant_id=variant_id, location_id=location_id, available=available))
    if not on_hand and not reserved:
        return None  # in transit only: not a ledger matter (the transfer document holds it)
    return StockMove.objects.create(
        variant_id=variant_id,
        location_id=location_id,
        kind=kind,
        quantity=on_hand,
        reserved_change=reserved,
        reason=reason[:MAX_REASON],
        reference=reference[:100],
        actor=_user(actor),
        at=now,
    )


# --- receipts, sales, returns, corrections ----------------------------------------------------------


def _post(**change: Any) -> StockMove:
    """A change of on-hand or reserved (never in transit only): always one ledger row."""
    move = _change(**change)
    if move is None:
        raise ValueError("an on-hand or reserved change writes a ledger row")
    return move


@transaction.atomic
def do_receive(
    *, actor: Any, location: Location, lines: Sequence[Line], reference: str = "", reason: str = ""
) -> list[StockMove]:
    """Goods arrived at `location` (outside a supply document: a found box, an opening balance)."""
    return [
        _post(
            variant_id=line.variant.pk,
            location_id=location.pk,
            kind=StockMove.Kind.RECEIPT,
            actor=actor,
            on_hand=line.quantity,
            reason=reason,
            reference=reference,
        )
        for line in _clean_lines(lines)
    ]


@transaction.atomic
def check_sell(*, actor: Any, variant: Any, location: Location, quantity: int, reference: str = "") -> StockMove:
    """Units leave with a customer without a reservation (a store sale): only what is available."""
    quantity = clean_quantity(quantity)
    return _post(
        variant_id=variant.pk,
        location_id=location.pk,
        kind=StockMove.Kind.SALE,
        actor=actor,
        on_hand=-quantity,
        reference=reference,
    )


@transaction.atomic
def do_return(
    *, actor: Any, variant: Any, location: Location, quantity: int, reference: str = "", reason: str = ""
) -> StockMove:
    """A customer brought units back to `location`; they are on hand again."""
    quantity = clean_quantity(quantity)
    if not location.accepts_returns:
        raise InvalidQuantity(f"{location.name} does not take returns.", field="location", code="RETURNS_NOT_ACCEPTED")
    return _post(
        variant_id=variant.pk,
        location_id=location.pk,
        kind=StockMove.Kind.RETURN,
        actor=actor,
        on_hand=quantity,
        reason=reason,
        reference=reference,
    )


@transaction.atomic
def check_correct(
    *, actor: Any, variant: Any, location: Location, counted: int | None = None, delta: int | None = None, reason: str
) -> StockMove | None:
    """A manager corrects on-hand after a count: to `counted` units, or by `delta`. A reason is required;
    on-hand may not drop below what is reserved. None when the count matches (nothing to correct)."""
    if actor is not None and getattr(actor, "role", None) not in CORRECTING_ROLES:  # None: the system (imports)
        raise CorrectionNotAllowed("Only a manager or the owner corrects stock.", field="reason")
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("Say why the stock is corrected (recount, damage, loss…).", field="reason")
    if (counted is None) == (delta is None):
        raise InvalidQuantity("Give either the counted quantity or the change.", field="counted")
    if counted is not None:
        if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
            raise InvalidQuantity("The counted quantity is a whole number, zero or more.", field="counted")
        _ensure_level(variant.pk, location.pk)
        current = StockLevel.objects.select_for_update().get(variant_id=variant.pk, location_id=location.pk)
        delta = counted - current.on_hand
    if delta is None or isinstance(delta, bool) or not isinstance(delta, int) or abs(delta) > MAX_QUANTITY:
        raise InvalidQuantity("The change is a whole number of units.", field="delta")
    if delta == 0:
        return None
    try:
        move = _post(
            variant_id=variant.pk,
            location_id=location.pk,
            kind=StockMove.Kind.CORRECTION,
            actor=actor,
            on_hand=delta,
            reason=reason,
        )
    except OutOfStock as exc:
        raise OutOfStock(
            "On hand cannot drop below what is reserved: release reservations first.", field="counted"
        ) from exc
    do_record_audit(
        actor=actor,
        action="stock.correct",
        target=move,
        changes={"variant": variant.pk, "location": location.code, "delta": delta, "reason": reason},
    )
    return move


# --- reservations -------------------------------------------------------------------------------------


@transaction.atomic
def check_reserve(
    *,
    actor: Any,
    variant: Any,
    location: Location,
    quantity: int,
    owner_kind: str = Reservation.Owner.HOLD,
    owner_ref: str = "",
    customer: Any = None,
    expires_at: dt.datetime | None = None,
    note: str = "",
) -> Reservation:
    """Set units aside; OUT_OF_STOCK (nothing changed) when fewer are available."""
    quantity = clean_quantity(quantity)
    if owner_kind not in Reservation.Owner.values:
        raise InvalidQuantity(f"Unknown reservation owner {owner_kind!r}.", field="owner_kind", code="OWNER_INVALID")
    now = clock.now()
    if expires_at is not None and expires_at <= now:
        raise InvalidQuantity("A hold expires in the future.", field="expires_at", code="EXPIRY_INVALID")
    reservation = Reservation.objects.create(
        variant_id=variant.pk,
        location=location,
        quantity=quantity,
        owner_kind=owner_kind,
        owner_ref=owner_ref[:100],
        customer=customer,
        expires_at=expires_at,
        note=note[:300],
        actor=_user(actor),
        created_at=now,
    )
    _change(
        variant_id=variant.pk,
        location_id=location.pk,
        kind=StockMove.Kind.RESERVATION,
        actor=actor,
        reserved=quantity,
        reference=f"hold:{reservation.pk}",
    )
    return reservation


@dataclass(frozen=True)
class Hold:
    """One lot for check_reserve_many: units of a variant at a location, for an owner (and, when lots
    of several people are reserved together, its own customer and actor instead of the call's)."""

    variant: Any  # catalog.Variant
    location: Location
    quantity: int
    owner_ref: str = ""
    customer: Any = None
    actor: Any = None


class _Short(Exception):
    """A guarded UPDATE of several rows matched fewer of them: undo, then say which."""


def check_reserve_many(
    *,
    actor: Any,
    holds: Sequence[Hold],
    owner_kind: str = Reservation.Owner.HOLD,
    customer: Any = None,
) -> list[Reservation]:
    """Set several lots aside, all or none (an order's lines): the same guarded change as check_reserve,
    as one conditional UPDATE of every stock row involved (a row is counted once however many lots
    share it), then one INSERT of the reservations and one of their ledger rows, in one transaction.
    OUT_OF_STOCK naming the first lot short (`holds[i].quantity`) changes nothing. Returns the
    reservations in `holds` order.
    """
    if not holds:
        return []
    quantities = [clean_quantity(hold.quantity, field=f"holds[{index}].quantity") for index, hold in enumerate(holds)]
    if owner_kind not in Reservation.Owner.values:
        raise InvalidQuantity(f"Unknown reservation owner {owner_kind!r}.", field="owner_kind", code="OWNER_INVALID")
    wanted: dict[tuple[int, int], int] = {}
    for hold, quantity in zip(holds, quantities, strict=True):
        pair = (hold.variant.pk, hold.location.pk)
        wanted[pair] = wanted.get(pair, 0) + quantity
    try:
        with transaction.atomic():
            return _reserve_many(actor, holds, quantities, wanted, owner_kind, customer)
    except _Short:
        pass  # rolled back: now the levels read as they are without this change
    raise OutOfStock("Not enough available at this location.", field=_first_short(holds, wanted))


def _reserve_many(
    actor: Any,
    holds: Sequence[Hold],
    quantities: list[int],
    wanted: dict[tuple[int, int], int],
    owner_kind: str,
    customer: Any,
) -> list[Reservation]:
    pairs = sorted(wanted)
    now = clock.now()
    if _add_reserved(pairs, wanted, now) != len(pairs):
        raise _Short
    users = [_user(actor if hold.actor is None else hold.actor) for hold in holds]
    reservations = bulk.insert(
        [
            Reservation(
                variant_id=hold.variant.pk,
                location=hold.location,
                quantity=quantity,
                owner_kind=owner_kind,
                owner_ref=hold.owner_ref[:100],
                customer=customer if hold.customer is None else hold.customer,
                actor=user,
                created_at=now,
            )
            for hold, quantity, user in zip(holds, quantities, users, strict=True)
        ]
    )
    bulk.insert(
        [
            StockMove(
                variant_id=reservation.variant_id,
                location_id=reservation.location_id,
                kind=StockMove.Kind.RESERVATION,
                quantity=0,
                reserved_change=reservation.quantity,
                reference=f"hold:{reservation.pk}",
                actor=user,
                at=now,
            )
            for reservation, user in zip(reservations, users, strict=True)
        ]
    )
    publish_on_commit(StockChanged(pairs=tuple(pairs)))
    return reservations


def _add_reserved(pairs: list[tuple[int, int]], wanted: dict[tuple[int, int], int], now: dt.datetime) -> int:
    """UPDATE stock SET reserved = reserved + wanted WHERE each row keeps on_hand >= reserved: how many rows
    changed. Written as SQL: the ORM spends more CPU composing this OR/CASE statement (≈1.4 ms for three
    rows) than the database spends running it, and it runs for every order placed."""
    quote = connection.ops.quote_name
    table = quote(StockLevel._meta.db_table)
    variant, location = quote("variant_id"), quote("location_id")
    on_hand, reserved, updated_at = quote("on_hand"), quote("reserved"), quote("updated_at")
    each = [value for pair in pairs for value in (pair[0], pair[1], wanted[pair])]
    cases = " ".join(f"WHEN {variant} = %s AND {location} = %s THEN %s" for _ in pairs)
    guard = " OR ".join(f"({variant} = %s AND {location} = %s AND {on_hand} >= {reserved} + %s)" for _ in pairs)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {reserved} = {reserved} + CASE {cases} ELSE 0 END, {updated_at} = %s "  # noqa: S608
            f"WHERE {guard}",  # only names and placeholders: every value is a parameter
            [*each, connection.ops.adapt_datetimefield_value(now), *each],
        )
        return int(cursor.rowcount)


def _first_short(holds: Sequence[Hold], wanted: dict[tuple[int, int], int]) -> str:
    """The field of the first lot whose stock row cannot give what is wanted of it (as read now)."""
    levels = {
        (row["variant_id"], row["location_id"]): row["on_hand"] - row["reserved"]
        for row in StockLevel.objects.filter(
            variant_id__in={pair[0] for pair in wanted}, location_id__in={pair[1] for pair in wanted}
        ).values("variant_id", "location_id", "on_hand", "reserved")
    }
    for index, hold in enumerate(holds):
        pair = (hold.variant.pk, hold.location.pk)
        if levels.get(pair, 0) < wanted[pair]:
            return f"holds[{index}].quantity"
    return "holds"


def _close(reservation: Reservation, status: str) -> bool:
    """Close an active reservation exactly once (a conditional UPDATE); False if it was not active."""
    return bool(
        Reservation.objects.filter(pk=reservation.pk, status=Reservation.Status.ACTIVE).update(
            status=status, closed_at=clock.now()
        )
    )


@transaction.atomic
def do_release(*, actor: Any, reservation: Reservation, reason: str = "") -> Reservation:
    """Give the units back to available. Releasing twice (or an expired hold) releases once; a reservation
    already sold or shipped cannot be released (WRONG_STATE)."""
    if not _close(reservation, Reservation.Status.RELEASED):
        reservation.refresh_from_db()
        if reservation.status == Reservation.Status.CONSUMED:
            raise WrongState("The reserved units are already sold or shipped.", field="reservation")
    else:
        _change(
            variant_id=reservation.variant_id,
            location_id=reservation.location_id,
            kind=StockMove.Kind.RELEASE,
            actor=actor,
            reserved=-reservation.quantity,
            reason=reason,
            reference=f"hold:{reservation.pk}",
        )
    reservation.refresh_from_db()
    return reservation


@transaction.atomic
def check_consume(*, actor: Any, reservation: Reservation, reference: str = "") -> Reservation:
    """The reserved units leave (sold, handed over, shipped): on hand and reserved both drop."""
    if not _close(reservation, Reservation.Status.CONSUMED):
        reservation.refresh_from_db()
        raise WrongState(f"The reservation is {reservation.get_status_display()}, not active.", field="reservation")
    _change(
        variant_id=reservation.variant_id,
        location_id=reservation.location_id,
        kind=StockMove.Kind.SALE,
        actor=actor,
        on_hand=-reservation.quantity,
        reserved=-reservation.quantity,
        reference=reference or f"hold:{reservation.pk}",
    )
    reservation.refresh_from_db()
    return reservation


def do_release_expired(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Release the holds whose time ran out; each in its own transaction. Returns how many."""
    now = now or clock.now()
    due = Reservation.objects.filter(status=Reservation.Status.ACTIVE, expires_at__lte=now)
    released = 0
    for reservation in due.order_by("expires_at", "pk")[:limit]:
        with transaction.atomic():
            if _close(reservation, Reservation.Status.EXPIRED):
                _change(
                    variant_id=reservation.variant_id,
                    location_id=reservation.location_id,
                    kind=StockMove.Kind.RELEASE,
                    actor=None,
                    reserved=-reservation.quantity,
                    reason="expired",
                    reference=f"hold:{reservation.pk}",
                )
                released += 1
    return released


# --- transfers ------------------------------------------------------------------------------------------


@transaction.atomic
def check_request_transfer(
    *,
    actor: Any,
    source: Location,
    destination: Location,
    lines: Sequence[Line],
    expected_on: dt.date | None = None,
    note: str = "",
) -> Transfer:
    """Ask for units to move from `source` to `destination`; they are reserved at the source at once,
    so nobody sells them meanwhile. OUT_OF_STOCK (nothing created) if any line is not available."""
    if source.pk == destination.pk:
        raise InvalidQuantity("A transfer goes between two locations.", field="destination", code="SAME_LOCATION")
    clean = _clean_lines(lines)
    transfer = Transfer.objects.create(
        source=source,
        destination=destination,
        expected_on=expected_on,
        note=note[:300],
        requested_by=_user(actor),
        created_at=clock.now(),
    )
    for index, line in enumerate(clean):
        try:
            reservation = check_reserve(
                actor=actor,
                variant=line.variant,
                location=source,
                quantity=line.quantity,
                owner_kind=Reservation.Owner.TRANSFER,
                owner_ref=str(transfer.pk),
            )
        except OutOfStock as exc:
            raise OutOfStock(
                f"{line.variant.sku}: not enough available at {source.name}.", field=f"lines[{index}].quantity"
            ) from exc
        TransferLine.objects.create(
            transfer=transfer, variant=line.variant, quantity=line.quantity, reservation=reservation
        )
    return transfer


def _advance(transfer: Transfer, *, from_status: str, to_status: str, stamp: str | None) -> None:
    """Move the transfer on exactly once (a conditional UPDATE); WRONG_STATE if it is elsewhere."""
    stamps = {stamp: clock.now()} if stamp else {}
    moved = Transfer.objects.filter(pk=transfer.pk, status=from_status).update(status=to_status, **stamps)
    if not moved:
        transfer.refresh_from_db()
        raise WrongState(f"The transfer is {transfer.get_status_display()}.", field="status")
    transfer.refresh_from_db()


@transaction.atomic
def check_ship_transfer(*, actor: Any, transfer: Transfer) -> Transfer:
    """The source hands the units over: they leave its stock and are in transit to the destination."""
    _advance(transfer, from_status=Transfer.Status.REQUESTED, to_status=Transfer.Status.SHIPPED, stamp="shipped_at")
    for line in transfer.lines.select_related("reservation"):
        if line.reservation is None or not _close(line.reservation, Reservation.Status.CONSUMED):
            raise WrongState("A line's reservation is no longer active.", field="lines")
        _change(
            variant_id=line.variant_id,
            location_id=transfer.source_id,
            kind=StockMove.Kind.TRANSFER_OUT,
            actor=actor,
            on_hand=-line.quantity,
            reserved=-line.quantity,
            reference=f"transfer:{transfer.pk}",
        )
        _change(
            variant_id=line.variant_id,
            location_id=transfer.destination_id,
            kind=StockMove.Kind.TRANSFER_IN,
            actor=actor,
            in_transit=line.quantity,
            reference=f"transfer:{transfer.pk}",
        )
    return transfer


@transaction.atomic
def check_receive_transfer(*, actor: Any, transfer: Transfer) -> Transfer:
    """The destination got the units: no longer in transit, on hand there."""
    _advance(transfer, from_status=Transfer.Status.SHIPPED, to_status=Transfer.Status.RECEIVED, stamp="received_at")
    for line in transfer.lines.all():
        _change(
            variant_id=line.variant_id,
            location_id=transfer.destination_id,
            kind=StockMove.Kind.TRANSFER_IN,
            actor=actor,
            on_hand=line.quantity,
            in_transit=-line.quantity,
            reference=f"transfer:{transfer.pk}",
        )
    return transfer


@transaction.atomic
def check_cancel_transfer(*, actor: Any, transfer: Transfer, reason: str = "") -> Transfer:
    """Cancel a transfer not shipped yet; its reserved units are available at the source again."""
    _advance(transfer, from_status=Transfer.Status.REQUESTED, to_status=Transfer.Status.CANCELLED, stamp=None)
    for line in transfer.lines.select_related("reservation"):
        if line.reservation is not None:
            do_release(actor=actor, reservation=line.reservation, reason=reason or "transfer cancelled")
    transfer.refresh_from_db()
    return transfer


# --- supplies ---------------------------------------------------------------------------------------------


@transaction.atomic
def check_create_supply(
    *,
    actor: Any,
    location: Location,
    expected_on: dt.date,
    lines: Sequence[Line],
    supplier: str = "",
    reference: str = "",
) -> Supply:
    """Record an expected delivery; its date is the "next arrival" people see."""
    if expected_on is None:
        raise InvalidQuantity("When is it expected?", field="expected_on", code="DATE_REQUIRED")
    clean = _clean_lines(lines)
    supply = Supply.objects.create(
        location=location,
        expected_on=expected_on,
        supplier=supplier.strip()[:200],
        reference=reference.strip()[:100],
        created_at=clock.now(),
        actor=_user(actor),
    )
    SupplyLine.objects.bulk_create(
        SupplyLine(supply=supply, variant_id=line.variant.pk, quantity=line.quantity) for line in clean
    )
    return supply


@transaction.atomic
def check_receive_supply(*, actor: Any, supply: Supply, received: dict[int, int] | None = None) -> Supply:
    """Post what arrived (all lines as expected, or `received` {variant_id: quantity}); once per supply."""
    moved = Supply.objects.filter(pk=supply.pk, status=Supply.Status.EXPECTED).update(
        status=Supply.Status.RECEIVED, received_at=clock.now()
    )
    if not moved:
        supply.refresh_from_db()
        raise WrongState(f"The supply is {supply.get_status_display()}.", field="status")
    lines = list(supply.lines.all())
    if received is not None:
        unknown = set(received) - {line.variant_id for line in lines}
        if unknown:
            raise InvalidQuantity("A received line is not in this supply.", field="lines", code="LINE_UNKNOWN")
    for line in lines:
        quantity = line.quantity if received is None else int(received.get(line.variant_id, 0))
        if quantity < 0:
            raise InvalidQuantity("A received quantity is zero or more.", field="lines")
        if quantity == 0:
            continue
        _change(
            variant_id=line.variant_id,
            location_id=supply.location_id,
            kind=StockMove.Kind.RECEIPT,
            actor=actor,
            on_hand=quantity,
            reference=f"supply:{supply.pk}",
        )
        SupplyLine.objects.filter(pk=line.pk).update(received_quantity=quantity)
    supply.refresh_from_db()
    return supply


@transaction.atomic
def check_cancel_supply(*, actor: Any, supply: Supply) -> Supply:
    moved = Supply.objects.filter(pk=supply.pk, status=Supply.Status.EXPECTED).update(status=Supply.Status.CANCELLED)
    if not moved:
        supply.refresh_from_db()
        raise WrongState(f"The supply is {supply.get_status_display()}.", field="status")
    supply.refresh_from_db()
    return supply


def lines_of(pairs: Iterable[tuple[Any, int]]) -> list[Line]:
    return [Line(variant=variant, quantity=quantity) for variant, quantity in pairs]
