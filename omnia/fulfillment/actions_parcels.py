"""Parcels: a delivery order's part from one location (orders.Shipment) handed to a carrier, and its tracking.

A parcel moves created → handed_over → in_transit → at_pickup_point → delivered (a door delivery goes from
in_transit, or from handed_over with the shop's own couriers, straight to delivered); failed from
handed_over, in_transit or at_pickup_point, and from failed back to in_transit for another attempt;
returned from failed, in_transit or at_pickup_point. delivered and returned are final.

The operator moves it one allowed step at a time (check_move_parcel); the carrier's tracking webhook
(do_apply_tracking) may skip steps forward (a courier scan straight to delivered). Every change is a
ParcelEvent row and publishes ParcelStatusChanged on commit.

The order's shipment follows its parcel, through orders.actions_shipments.check_move_shipment (so its
units leave the shelf once and the order follows its shipments):
- handed_over, in_transit, at_pickup_point, failed → the shipment is shipped (through picking first if
  it was still pending);
- delivered → the shipment is delivered (shipped first if it was not yet);
- failed also publishes ParcelDelayed with the carrier's or the operator's reason (a parcel the carrier
  refused before taking it, CDEK's INVALID, fails without its shipment moving);
- returned leaves the shipment as it is (shipped or delivered) and is only recorded here: the units come
  back when the operator takes the return through the orders return flow (orders.actions_returns), which
  restocks them at the location that receives them and refunds what is due.

A carrier event naming a status earlier in the machine, or a step back the machine allows (in transit again
after a failed attempt) older than the parcel's current status (its `at` before `status_at`), is recorded as an
event but does not move the parcel back. A forward event moves it whenever it happened (a parcel created
after the carrier had already taken it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from omnia.core import clock
from omnia.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from omnia.core.events import publish_on_commit
from omnia.fulfillment import queries
from omnia.fulfillment.events import ParcelDelayed, ParcelStatusChanged
from omnia.fulfillment.models import Carrier, DeliverySettings, Parcel, ParcelEvent, TrackingRejection
from omnia.fulfillment.tracking.base import TrackingUpdate
from omnia.orders import actions_shipments
from omnia.orders.models import Order, Shipment

logger = logging.getLogger(__name__)

P = Parcel.Status
SS = Shipment.Status

MOVES: dict[str, frozenset[str]] = {
    P.CREATED: frozenset({P.HANDED_OVER}),
    P.HANDED_OVER: frozenset({P.IN_TRANSIT, P.DELIVERED, P.FAILED}),
    P.IN_TRANSIT: frozenset({P.AT_PICKUP_POINT, P.DELIVERED, P.FAILED, P.RETURNED}),
    P.AT_PICKUP_POINT: frozenset({P.DELIVERED, P.FAILED, P.RETURNED}),
    P.FAILED: frozenset({P.IN_TRANSIT, P.RETURNED}),
    P.DELIVERED: frozenset(),
    P.RETURNED: frozenset(),
}
# How far along the machine: a carrier event may jump forward, never back (but for a re-attempt after a failure).
RANK: dict[str, int] = {
    P.CREATED: 0,
    P.HANDED_OVER: 1,
    P.IN_TRANSIT: 2,
    P.AT_PICKUP_POINT: 3,
    P.FAILED: 3,
    P.DELIVERED: 4,
    P.RETURNED: 4,
}
FINAL = frozenset({P.DELIVERED, P.RETURNED})
# Statuses in which the shipment has left the location.
ON_ITS_WAY = frozenset({P.HANDED_OVER, P.IN_TRANSIT, P.AT_PICKUP_POINT, P.FAILED})


class ParcelNotAllowed(Conflict):
    code = "PARCEL_NOT_ALLOWED"


class ParcelExists(Conflict):
    code = "PARCEL_EXISTS"


class TrackingTaken(Conflict):
    code = "TRACKING_TAKEN"


class ParcelTransitionNotAllowed(Conflict):
    code = "TRANSITION_NOT_ALLOWED"


class CarrierNotFound(NotFound):
    code = "CARRIER_NOT_FOUND"


def allowed_moves(parcel: Parcel) -> list[str]:
    """The statuses the operator may move this parcel to now, in the machine's order."""
    allowed = MOVES.get(parcel.status, frozenset())
    return [status for status in P.values if status in allowed]


def _carrier_may_move(current: str, current_at: dt.datetime, to: str, at: dt.datetime) -> bool:
    """A carrier event moves the parcel forward (past steps it did not report), whenever it happened: a parcel
    created after the carrier took it still takes the carrier's earlier scans. A step the machine allows that
    is not forward (in transit again after a failed attempt) is taken only when it is newer than the status."""
    if current in FINAL or to == current:
        return False
    if RANK[to] > RANK[current]:
        return True
    return to in MOVES[current] and at >= current_at


# --- label data -------------------------------------------------------------------------------------------


def _weight_of(order: Order, shipment: Shipment) -> int:
    """The shipment's weight in grams: each line's variant weight (the shop's default for one without)."""
    settings_row = DeliverySettings.objects.first()
    default = settings_row.default_weight_grams if settings_row is not None else 500
    total = 0
    for line in order.lines.filter(location_id=shipment.location_id).select_related("variant"):
        total += (line.variant.weight_grams or default) * line.quantity
    return total


def _recipient_phone(order: Order) -> str:
    address = order.delivery_address or {}
    phone = str(address.get("phone") or "").strip()
    if phone or order.customer_id is None:
        return phone
    identity = order.customer.identities.filter(kind="phone").order_by("id").first()  # type: ignore[union-attr]
    return identity.value if identity is not None else ""


def label_for(order: Order, shipment: Shipment, *, weight_grams: int | None = None) -> dict[str, Any]:
    """What goes on the parcel's label, from the order: sender, recipient, address, pieces, weight, value."""
    address = dict(order.delivery_address or {})
    customer = order.customer
    name = str(address.get("name") or (customer.full_name if customer is not None else "")).strip()
    lines = list(order.lines.filter(location_id=shipment.location_id).select_related("variant"))
    value = sum((line.line_total for line in lines), Decimal(0))
    location = shipment.location
    choice = queries.get_choice(order.pk)
    label: dict[str, Any] = {
        "order": order.number,
        "sender": {"name": location.name, "address": location.address, "city": location.city, "phone": location.phone},
        "recipient": {"name": name, "phone": _recipient_phone(order)},
        "address": {k: str(v) for k, v in address.items() if k not in ("name", "phone") and v not in (None, "")},
        "pieces": sum(line.quantity for line in lines),
        "items": [{"sku": line.variant.sku, "name": str(line.variant), "quantity": line.quantity} for line in lines],
        "weight_grams": weight_grams if weight_grams is not None else _weight_of(order, shipment),
        "declared_value": str(value),
        "currency": order.currency,
    }
    if choice is not None:
        label["delivery"] = {"kind": choice.kind, "city": choice.city}
        if choice.pickup_point:
            label["pickup_point"] = dict(choice.pickup_point)
    return label


# --- creating a parcel, its tracking number ----------------------------------------------------------------


def _check_tracking(carrier: Carrier, tracking_number: str, *, exclude: int | None = None) -> str:
    number = (tracking_number or "").strip()
    if len(number) > 64:
        raise ValidationFailed("A tracking number has at most 64 characters.", field="tracking_number")
    if number:
        taken = Parcel.objects.filter(carrier=carrier, tracking_number=number)
        if exclude is not None:
            taken = taken.exclude(pk=exclude)
        if taken.exists():
            raise TrackingTaken(
                f"{carrier.name} tracking number {number} is already on another parcel.", field="tracking_number"
            )
    return number


def _check_weight(weight_grams: int | None) -> int | None:
    if weight_grams is not None and not 0 < weight_grams <= 1_000_000:
        raise ValidationFailed("The weight is in grams, from 1 to 1,000,000.", field="weight_grams")
    return weight_grams


@transaction.atomic
def check_create_parcel(
    *,
    actor: Any,
    shipment: Shipment,
    carrier: Carrier,
    tracking_number: str = "",
    weight_grams: int | None = None,
    estimated_on: dt.date | None = None,
) -> Parcel:
    """The parcel of a delivery order's shipment, handed to `carrier`, with its label filled from the order.

    Refused: a pick-up or take-away order (PARCEL_NOT_ALLOWED), a cancelled shipment (SHIPMENT_CANCELLED), a
    shipment that has a parcel (PARCEL_EXISTS), an inactive carrier (CARRIER_INACTIVE), a tracking number
    already on another parcel of that carrier (TRACKING_TAKEN). The expected date is the order's delivery
    choice's latest date unless given."""
    order = Order.objects.select_for_update().get(pk=shipment.order_id)
    locked = Shipment.objects.select_for_update().select_related("location").get(pk=shipment.pk)
    if order.fulfillment != Order.Fulfillment.DELIVERY:
        raise ParcelNotAllowed(
            f"Order {order.number} is a {order.get_fulfillment_display().lower()} order: only a delivery goes "
            "with a carrier.",
            field="shipment",
        )
    if locked.status == SS.CANCELLED or order.status == Order.Status.CANCELLED:
        raise ParcelNotAllowed(
            f"The part of {order.number} from {locked.location.name} is cancelled.",
            field="shipment",
            code="SHIPMENT_CANCELLED",
        )
    if Parcel.objects.filter(shipment=locked).exists():
        raise ParcelExists(f"The part of {order.number} from {locked.location.name} has a parcel already.")
    if not carrier.is_active:
        raise ValidationFailed(f"{carrier.name} is switched off.", field="carrier", code="CARRIER_INACTIVE")
    number = _check_tracking(carrier, tracking_number)
    weight = _check_weight(weight_grams)
    choice = queries.get_choice(order.pk)
    label = label_for(order, locked, weight_grams=weight)
    now = clock.now()
    try:
        with transaction.atomic():
            parcel = Parcel.objects.create(
                shipment=locked,
                carrier=carrier,
                tracking_number=number,
                status=P.CREATED,
                label=label,
                weight_grams=label["weight_grams"],
                pickup_point=dict(choice.pickup_point) if choice is not None and choice.pickup_point else {},
                estimated_on=estimated_on or (choice.estimated_to if choice is not None else None),
                created_at=now,
                updated_at=now,
                status_at=now,
            )
    except IntegrityError as exc:  # a concurrent parcel, or the same number given at the same moment
        if Parcel.objects.filter(shipment=locked).exists():
            raise ParcelExists(f"The part of {order.number} from {locked.location.name} has a parcel already.") from exc
        raise TrackingTaken(f"{carrier.name} tracking number {number} is taken.", field="tracking_number") from exc
    ParcelEvent.objects.create(
        parcel=parcel,
        status=P.CREATED,
        description=carrier.name[:300],
        at=now,
        received_at=now,
        source=ParcelEvent.Source.OPERATOR if actor is not None else ParcelEvent.Source.SYSTEM,
        actor=getattr(actor, "audit_user", None),
    )
    publish_on_commit(ParcelStatusChanged(parcel_id=parcel.pk, order_id=order.pk, old="", new=P.CREATED))
    return parcel


@transaction.atomic
def check_update_parcel(
    *,
    actor: Any,
    parcel: Parcel,
    tracking_number: str | None = None,
    estimated_on: dt.date | None = None,
    clear_estimate: bool = False,
    weight_grams: int | None = None,
) -> Parcel:
    """Set or replace the tracking number (TRACKING_TAKEN if another parcel of the carrier has it), the expected
    date (a new date may be reported late again) or the weight; only what is given changes."""
    locked = Parcel.objects.select_for_update().select_related("carrier").get(pk=parcel.pk)
    changed: list[str] = []
    notes: list[str] = []
    if tracking_number is not None:
        number = _check_tracking(locked.carrier, tracking_number, exclude=locked.pk)
        if number != locked.tracking_number:
            notes.append(f"tracking number {locked.tracking_number or '—'} → {number or '—'}")
            locked.tracking_number = number
            changed.append("tracking_number")
    if clear_estimate or (estimated_on is not None and estimated_on != locked.estimated_on):
        new_date = None if clear_estimate else estimated_on
        notes.append(f"expected {locked.estimated_on or '—'} → {new_date or '—'}")
        locked.estimated_on, locked.delayed_at = new_date, None
        changed += ["estimated_on", "delayed_at"]
    if weight_grams is not None and _check_weight(weight_grams) != locked.weight_grams:
        locked.weight_grams = weight_grams
        label = dict(locked.label or {})
        label["weight_grams"] = weight_grams
        locked.label = label
        changed += ["weight_grams", "label"]
        notes.append(f"weight {weight_grams} g")
    if not changed:
        return locked
    now = clock.now()
    locked.updated_at = now
    try:
        with transaction.atomic():
            locked.save(update_fields=[*changed, "updated_at"])
    except IntegrityError as exc:
        raise TrackingTaken(
            f"{locked.carrier.name} tracking number {locked.tracking_number} is taken.", field="tracking_number"
        ) from exc
    ParcelEvent.objects.create(
        parcel=locked,
        description="; ".join(notes)[:300],
        at=now,
        received_at=now,
        source=ParcelEvent.Source.OPERATOR,
        actor=getattr(actor, "audit_user", None),
    )
    return locked


# --- moving a parcel, the shipment following ----------------------------------------------------------------


def _shipment_follows(*, actor: Any, parcel: Parcel, to: str, strict: bool) -> None:
    """Take the order's shipment as far as the parcel has come (see the module's docstring). A parcel that
    fails before it was handed over (the carrier refused the order) never left: its shipment stays."""
    if to == P.FAILED and parcel.status == P.CREATED:
        return
    if to in ON_ITS_WAY:
        target = SS.SHIPPED
    elif to == P.DELIVERED:
        target = SS.DELIVERED
    else:
        return
    path: dict[str, list[str]] = {SS.PENDING: [SS.PICKING, SS.SHIPPED], SS.PICKING: [SS.SHIPPED]}
    shipment = Shipment.objects.get(pk=parcel.shipment_id)
    steps = list(path.get(shipment.status, []))
    if target == SS.DELIVERED and shipment.status != SS.DELIVERED:
        steps.append(SS.DELIVERED)
    if shipment.status in (SS.DELIVERED, SS.PICKED_UP) or (target == SS.SHIPPED and shipment.status == SS.SHIPPED):
        return
    reason = f"parcel {parcel.tracking_number or parcel.pk}: {to.replace('_', ' ')}"
    for step in steps:
        if strict:
            actions_shipments.check_move_shipment(actor=actor, shipment=shipment, to=step, reason=reason)
            continue
        try:
            with transaction.atomic():
                actions_shipments.check_move_shipment(actor=actor, shipment=shipment, to=step, reason=reason)
        except DomainError as exc:  # the carrier's news is kept; the operator moves the order on
            logger.warning("shipment %s did not follow parcel %s to %s: %s", shipment.pk, parcel.pk, to, exc)
            return


def _record_move(*, parcel: Parcel, to: str, at: dt.datetime, now: dt.datetime) -> None:
    old = parcel.status
    parcel.status, parcel.status_at, parcel.updated_at = to, at, now
    parcel.save(update_fields=["status", "status_at", "updated_at"])
    order_id = Shipment.objects.filter(pk=parcel.shipment_id).values_list("order_id", flat=True).get()
    publish_on_commit(ParcelStatusChanged(parcel_id=parcel.pk, order_id=order_id, old=old, new=to))


def _after_move(*, parcel: Parcel, to: str, reason: str) -> None:
    if to == P.FAILED:
        order_id = Shipment.objects.filter(pk=parcel.shipment_id).values_list("order_id", flat=True).get()
        publish_on_commit(
            ParcelDelayed(
                parcel_id=parcel.pk,
                order_id=order_id,
                estimated_on=parcel.estimated_on,
                reason=reason or "delivery failed",
            )
        )


@transaction.atomic
def check_move_parcel(
    *, actor: Any, parcel: Parcel, to: str, description: str = "", at: dt.datetime | None = None
) -> Parcel:
    """The operator moves the parcel one allowed step (TRANSITION_NOT_ALLOWED otherwise, nothing changed); the
    order's shipment follows, and a move the order's rules refuse (an order not yet confirmed) refuses this
    one too."""
    if to not in P.values:
        raise ValidationFailed(f"Unknown parcel status {to!r}.", field="to", code="STATUS_INVALID")
    description = (description or "").strip()
    if len(description) > 300:
        raise ValidationFailed("A description has at most 300 characters.", field="description")
    shipment = Shipment.objects.select_related("location").get(pk=parcel.shipment_id)
    Order.objects.select_for_update().get(pk=shipment.order_id)
    locked = Parcel.objects.select_for_update().get(pk=parcel.pk)
    if shipment.status == SS.CANCELLED:
        raise ParcelTransitionNotAllowed(
            f"The part from {shipment.location.name} is cancelled: its parcel does not move.", field="to"
        )
    if to not in MOVES.get(locked.status, frozenset()):
        raise ParcelTransitionNotAllowed(
            f"The parcel is {locked.get_status_display()}: it cannot become {P(to).label}.", field="to"
        )
    now = clock.now()
    when = at or now
    _shipment_follows(actor=actor, parcel=locked, to=to, strict=True)
    _record_move(parcel=locked, to=to, at=when, now=now)
    ParcelEvent.objects.create(
        parcel=locked,
        status=to,
        description=description,
        at=when,
        received_at=now,
        source=ParcelEvent.Source.OPERATOR,
        actor=getattr(actor, "audit_user", None),
    )
    _after_move(parcel=locked, to=to, reason=description)
    parcel.refresh_from_db()
    return parcel


@transaction.atomic
def do_follow_shipment(*, shipment_id: int, to: str) -> Parcel | None:
    """The order's part was moved by hand (the order page, the API): its parcel follows — shipped makes a
    parcel still at the shop handed over, delivered makes one not yet delivered delivered (the operator's
    word is final; a returned parcel stays). The parcel moved, or None when it had nothing to follow."""
    targets: dict[str, str] = {SS.SHIPPED: P.HANDED_OVER, SS.DELIVERED: P.DELIVERED}
    target = targets.get(to)
    parcel = Parcel.objects.select_for_update().filter(shipment_id=shipment_id).first()
    if target is None or parcel is None:
        return None
    if target == P.HANDED_OVER and parcel.status != P.CREATED:
        return None
    if target == P.DELIVERED and parcel.status in (P.DELIVERED, P.RETURNED):
        return None
    now = clock.now()
    _record_move(parcel=parcel, to=target, at=now, now=now)
    ParcelEvent.objects.create(
        parcel=parcel,
        status=target,
        description=f"the order's shipment was marked {to} by hand"[:300],
        at=now,
        received_at=now,
        source=ParcelEvent.Source.SYSTEM,
    )
    return parcel


# --- the carrier's tracking webhook --------------------------------------------------------------------------


@dataclass
class TrackingResult:
    applied: int = 0  # events that moved a parcel
    recorded: int = 0  # events kept without moving it (older, earlier in the machine, or news only)
    duplicates: int = 0
    unknown: list[str] = field(default_factory=list)


def dedupe_key(carrier: Carrier, update: TrackingUpdate) -> str:
    """The carrier's event id, or a hash of the event when it has none; unique among ParcelEvents."""
    if update.event_id:
        key = f"{carrier.pk}:{update.event_id}"
        if len(key) <= 128:
            return key
        return f"{carrier.pk}:sha256:{hashlib.sha256(update.event_id.encode()).hexdigest()}"
    payload = json.dumps(update.raw, sort_keys=True, ensure_ascii=False, default=str)
    return f"{carrier.pk}:sha256:{hashlib.sha256(payload.encode()).hexdigest()}"


def _claim(event: ParcelEvent) -> bool:
    """Insert the event; False when its dedupe key is taken (delivered before, or by a concurrent call)."""
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def do_record_rejection(
    *, carrier: Carrier | None, reason: str, detail: str = "", body: bytes | str = b"", tracking_number: str = ""
) -> TrackingRejection:
    """Keep a tracking call that was not applied (for the owner to see); its own row, nothing else."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return TrackingRejection.objects.create(
        carrier=carrier,
        at=clock.now(),
        reason=reason[:60],
        tracking_number=tracking_number[:64],
        detail=detail[:300],
        body=text[:20_000],
    )


@transaction.atomic
def do_apply_tracking(*, carrier: Carrier, updates: Iterable[TrackingUpdate], body: bytes = b"") -> TrackingResult:
    """Apply a carrier's verified tracking events, oldest first, each once (ParcelEvent.dedupe_key).

    An event for a tracking number of no parcel of this carrier is kept as a TrackingRejection and named in
    the result's `unknown`; the others are applied. An event behind the parcel's status in the machine, an
    older step back (see _carrier_may_move) or one without a status of ours (news only) is recorded without
    moving the parcel."""
    result = TrackingResult()
    now = clock.now()
    for update in sorted(updates, key=lambda u: u.at):
        number = update.tracking_number.strip()
        parcel_id = (
            Parcel.objects.filter(carrier=carrier, tracking_number=number).values_list("pk", flat=True).first()
            if number
            else None
        )
        if parcel_id is None:
            result.unknown.append(number)
            do_record_rejection(
                carrier=carrier,
                reason="unknown_tracking_number",
                detail=f"no parcel of {carrier.name} has tracking number {number or '(empty)'}",
                body=body,
                tracking_number=number,
            )
            continue
        shipment = Shipment.objects.get(parcel__pk=parcel_id)
        Order.objects.select_for_update().get(pk=shipment.order_id)
        parcel = Parcel.objects.select_for_update().get(pk=parcel_id)
        moves = (
            update.status is not None
            and update.status in P.values
            and _carrier_may_move(parcel.status, parcel.status_at, update.status, update.at)
            and shipment.status != SS.CANCELLED
        )
        raw = dict(update.raw)
        if update.status and not moves:
            raw["not_applied"] = "older" if update.at < parcel.status_at else "not_a_forward_move"
        event = ParcelEvent(
            parcel=parcel,
            status=update.status or "",
            carrier_status=update.carrier_status[:60],
            description=update.description[:300],
            place=update.place[:200],
            at=update.at,
            received_at=now,
            source=ParcelEvent.Source.WEBHOOK,
            dedupe_key=dedupe_key(carrier, update),
            raw=raw,
        )
        if not _claim(event):
            result.duplicates += 1
            continue
        if not moves:
            result.recorded += 1
            continue
        to = str(update.status)
        _shipment_follows(actor=None, parcel=parcel, to=to, strict=False)
        _record_move(parcel=parcel, to=to, at=update.at, now=now)
        _after_move(parcel=parcel, to=to, reason=update.description or update.carrier_status)
        result.applied += 1
    return result


# --- late parcels --------------------------------------------------------------------------------------------


def do_report_delayed(*, today: dt.date | None = None) -> list[int]:
    """Every parcel whose expected date has passed while it is still on its way (not delivered or returned, nor
    its shipment delivered or cancelled by hand) is reported late once: `delayed_at` set by one guarded UPDATE
    per parcel, then ParcelDelayed on commit. Returns the ids reported now."""
    day = today or clock.today()
    reported: list[int] = []
    candidates = (
        Parcel.objects.filter(estimated_on__lt=day, delayed_at__isnull=True)
        .exclude(status__in=FINAL)
        .exclude(shipment__status__in=[SS.DELIVERED, SS.PICKED_UP, SS.CANCELLED])  # done (or cancelled) by hand
        .values_list("pk", "shipment__order_id", "estimated_on")
    )
    for parcel_id, order_id, estimated_on in list(candidates):
        with transaction.atomic():
            won = Parcel.objects.filter(pk=parcel_id, delayed_at__isnull=True).update(delayed_at=clock.now())
            if not won:
                continue  # another run reported it
            publish_on_commit(
                ParcelDelayed(
                    parcel_id=parcel_id,
                    order_id=order_id,
                    estimated_on=estimated_on,
                    reason=f"expected by {estimated_on}",
                )
            )
        reported.append(parcel_id)
    return reported
