"""Kaspi.kz orders arrive by themselves (channels.md §8.7), and our status changes go back.

Every minute each active KaspiAccount is polled: `GET /orders` per state, in creation windows of at
most 14 days starting at the account's watermark. A Kaspi order seen for the first time has its
entries read (offer code = our SKU), its buyer resolved by phone and its pick-up point mapped to the
Location with that `kaspi_point_id` (stock is taken there), and is placed through
`check_place_order` (source kaspi, external id = the Kaspi order id: a repeat is the same order).
Then Kaspi is told: ACCEPTED_BY_MERCHANT, or CANCELLED with MERCHANT_OUT_OF_STOCK when the stock is
not there (nothing is left reserved). A KaspiOrder row remembers each outcome, so nothing is placed,
accepted or cancelled twice.

A payload with an unexpected shape, an unknown SKU or point is logged, recorded (KaspiOrder.error and
the account's last_error) and skipped: the rest of the poll goes on. A transient failure (5xx, 429,
network) leaves the order for the next poll, and the watermark never passes an order still to handle;
an order that failed is tried again every 15 minutes (the SKU may have been added since). Orders placed
here that Kaspi cancels (they move to ARCHIVE) are cancelled here too.

Our side goes back through `push_status` (a task enqueued after commit): cancelled → CANCELLED,
ready/shipped for a Kaspi delivery → ASSEMBLE. Completion at Kaspi needs the buyer's SMS code, given
in Kaspi's own app, so it is not pushed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from omnia.catalog import queries as catalog_queries
from omnia.core import clock
from omnia.core.errors import DomainError
from omnia.core.phones import normalize_phone
from omnia.inventory.errors import OutOfStock
from omnia.inventory.models import Location
from omnia.orders import actions, marketplace
from omnia.orders.kaspi.client import KaspiClient, KaspiError, from_ms, windows
from omnia.orders.marketplace import PollResult, Pushed, text
from omnia.orders.models import KaspiAccount, KaspiOrder, Order, Payment, StatusChange

logger = logging.getLogger(__name__)

# The states of orders that are still ours to handle (ARCHIVE holds finished ones); SIGN_REQUIRED
# orders wait for the buyer's credit signature and reappear as NEW once the bank approves.
POLLED_STATES = ("NEW", "PICKUP", "DELIVERY", "KASPI_DELIVERY")
# Bank-approved orders (to accept) and orders accepted already (in the cabinet, or before a crash).
IMPORTED_STATUSES = frozenset({"APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT"})
# Kaspi lists an order under its creation date, but it appears only once the bank approves it (a
# credit may take a day): each poll looks this far back, whatever was handled before.
LOOKBACK = dt.timedelta(days=2)
# Orders cancelled at Kaspi (by the buyer, the bank or Kaspi) move to ARCHIVE: the ones placed here in
# this span are followed there, so their stock is released here too.
FOLLOW_ARCHIVE = dt.timedelta(days=14)
# An order that could not be imported (an unknown SKU or point, a bad phone) is tried again this often:
# once the catalog or the locations are fixed, it comes in by itself.
RETRY_FAILED_AFTER = dt.timedelta(minutes=15)
# A poll holds its account this long at most: a second poll does not start while one runs.
LEASE = dt.timedelta(minutes=10)
Outcome = KaspiOrder.Outcome


class BadPayload(ValueError):
    """A Kaspi resource without the fields the import needs."""


@dataclass(frozen=True)
class EntryIn:
    sku: str
    quantity: int
    total: Decimal | None
    point_id: str


@dataclass(frozen=True)
class KaspiOrderIn:
    id: str
    code: str
    state: str
    status: str
    created: dt.datetime
    phone: str
    name: str
    total: Decimal | None
    payment_mode: str
    delivery_mode: str
    kaspi_delivery: bool
    pickup_point_id: str
    address: dict[str, Any]
    cancellation_reason: str = ""


# --- reading the payloads ----------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _related_id(resource: Mapping[str, Any], name: str) -> str:
    relations = resource.get("relationships")
    relation = relations.get(name) if isinstance(relations, dict) else None
    data = relation.get("data") if isinstance(relation, dict) else None
    return text(data.get("id")) if isinstance(data, dict) else ""


def _buyer(attributes: Mapping[str, Any], resource: Mapping[str, Any], included: Sequence[Any]) -> Mapping[str, Any]:
    """The order's `customer` attributes, else the `customers` resource it includes (`include[orders]=user`)."""
    customer = attributes.get("customer")
    if isinstance(customer, dict) and customer.get("cellPhone"):
        return customer
    user_id = _related_id(resource, "user")
    for item in included:
        if isinstance(item, dict) and item.get("type") == "customers" and text(item.get("id")) == user_id:
            found = item.get("attributes")
            if isinstance(found, dict):
                return found
    return customer if isinstance(customer, dict) else {}


def parse_order(resource: Any, included: Sequence[Any] = ()) -> KaspiOrderIn:
    """The fields the import needs from one `orders` resource; BadPayload when it lacks them."""
    if not isinstance(resource, dict) or resource.get("type") != "orders":
        raise BadPayload(f"not an orders resource: {str(resource)[:200]}")
    attributes = resource.get("attributes")
    order_id = text(resource.get("id"))
    if not order_id or not isinstance(attributes, dict):
        raise BadPayload(f"an order without id or attributes: {str(resource)[:200]}")
    code = text(attributes.get("code"))
    if not code:
        raise BadPayload(f"order {order_id}: no code")
    try:
        created = from_ms(attributes.get("creationDate"))
    except (ValueError, OverflowError, OSError) as exc:
        raise BadPayload(f"order {code}: creationDate {attributes.get('creationDate')!r}") from exc
    buyer = _buyer(attributes, resource, included)
    phone = text(buyer.get("cellPhone"))
    if not phone:
        raise BadPayload(f"order {code}: no customer cellPhone")
    name = " ".join(text(buyer.get(key)) for key in ("firstName", "lastName")).strip() or text(buyer.get("name"))
    raw_address = attributes.get("deliveryAddress")
    address = raw_address if isinstance(raw_address, dict) else {}
    return KaspiOrderIn(
        id=order_id,
        code=code,
        state=text(attributes.get("state")),
        status=text(attributes.get("status")),
        created=created,
        phone=phone,
        name=name,
        total=_decimal(attributes.get("totalPrice")),
        payment_mode=text(attributes.get("paymentMode")),
        delivery_mode=text(attributes.get("deliveryMode")),
        kaspi_delivery=attributes.get("isKaspiDelivery") is True,
        pickup_point_id=text(attributes.get("pickupPointId")) or _related_id(resource, "deliveryPointOfService"),
        address=address,
        cancellation_reason=text(attributes.get("cancellationReason")),
    )


def parse_entries(data: Sequence[Any], *, code: str) -> list[EntryIn]:
    """The entries of order `code`: offer code (our SKU), whole quantity, total, serving point."""
    entries = []
    for item in data:
        attributes = item.get("attributes") if isinstance(item, dict) else None
        if not isinstance(attributes, dict):
            raise BadPayload(f"order {code}: an entry without attributes")
        offer = attributes.get("offer")
        sku = text(offer.get("code")) if isinstance(offer, dict) else ""
        quantity = attributes.get("quantity")
        if not sku:
            raise BadPayload(f"order {code}: an entry without offer code")
        if isinstance(quantity, float) and quantity.is_integer():
            quantity = int(quantity)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise BadPayload(f"order {code}: entry {sku} has quantity {quantity!r}")
        entries.append(
            EntryIn(
                sku=sku,
                quantity=quantity,
                total=_decimal(attributes.get("totalPrice")),
                point_id=_related_id(item, "deliveryPointOfService"),
            )
        )
    if not entries:
        raise BadPayload(f"order {code}: no entries")
    return entries


# --- turning a Kaspi order into ours ---------------------------------------------------------------------------


def find_location(point_id: str) -> Location | None:
    """The active location whose kaspi_point_id is `point_id` ('15843453_PP1'), or its short form ('PP1')."""
    point_id = point_id.strip()
    if not point_id:
        return None
    candidates = {point_id, point_id.rsplit("_", 1)[-1]}
    return Location.objects.filter(kaspi_point_id__in=candidates, is_active=True).order_by("pk").first()


def _fulfillment(incoming: KaspiOrderIn, location: Location | None) -> actions.FulfillmentIn:
    self_pickup = incoming.delivery_mode == "DELIVERY_PICKUP" and not incoming.kaspi_delivery
    if self_pickup:
        if location is None:
            raise DomainError(
                f"order {incoming.code}: pick-up point {incoming.pickup_point_id!r} is no location's Kaspi id",
                code="KASPI_POINT_UNKNOWN",
            )
        return actions.FulfillmentIn(type=Order.Fulfillment.PICKUP, location=location)
    source = incoming.address
    street = " ".join(text(source.get(key)) for key in ("streetName", "streetNumber")).strip()
    address = {
        "city": text(source.get("town")) or (location.city if location is not None else ""),
        "line1": text(source.get("formattedAddress")) or street,
        "apartment": text(source.get("apartment")),
        "kaspi_delivery": incoming.kaspi_delivery,
        "kaspi_delivery_mode": incoming.delivery_mode,
    }
    return actions.FulfillmentIn(
        type=Order.Fulfillment.DELIVERY, location=location, address={k: v for k, v in address.items() if v != ""}
    )


def _lines(entries: Sequence[EntryIn], *, code: str) -> list[actions.LineIn]:
    variants = catalog_queries.find_variants_by_sku(entry.sku for entry in entries)
    unknown = sorted({entry.sku for entry in entries if entry.sku not in variants})
    if unknown:
        raise DomainError(f"order {code}: unknown SKU {', '.join(unknown)}", code="SKU_NOT_FOUND")
    quantities: dict[int, int] = {}
    by_pk = {}
    for entry in entries:
        variant = variants[entry.sku]
        by_pk[variant.pk] = variant
        quantities[variant.pk] = quantities.get(variant.pk, 0) + entry.quantity
    return [actions.LineIn(by_pk[pk], quantity) for pk, quantity in quantities.items()]


def _place(incoming: KaspiOrderIn, entries: Sequence[EntryIn]) -> actions.Placed:
    """Place the Kaspi order here, with its stock taken at its Kaspi point when we know the point."""
    point_id = incoming.pickup_point_id or next((e.point_id for e in entries if e.point_id), "")
    location = find_location(point_id)
    fulfillment = _fulfillment(incoming, location)
    lines = _lines(entries, code=incoming.code)
    customer = actions.CustomerIn(
        phone=normalize_phone(incoming.phone, region="KZ", field="customer.cellPhone"), name=incoming.name
    )
    amounts = [entry.total for entry in entries if entry.total is not None]
    paid = sum(amounts, Decimal(0)) if len(amounts) == len(entries) else incoming.total  # the goods, not delivery
    method = Payment.Method.KASPI_RED if incoming.payment_mode == "PAY_WITH_CREDIT" else Payment.Method.KASPI_PAY
    payment = actions.PaymentIn(method=method, amount=paid, reference=incoming.code) if paid and paid > 0 else None
    comment = f"Kaspi.kz {incoming.code}"

    sourcing: actions.SourcingStrategy = actions.default_sourcing
    if location is not None:
        point = location

        def pinned(needs: Sequence[actions.Need], _: actions.FulfillmentIn) -> dict[int, list[Location]]:
            return {need.index: [point] for need in needs}  # Kaspi sold it from this point's stock

        sourcing = pinned

    def place(payment: actions.PaymentIn | None, comment: str) -> actions.Placed:
        return actions.check_place_order(
            actor=None,
            customer=customer,
            source="kaspi",
            external_id=incoming.id,
            lines=lines,
            fulfillment=fulfillment,
            payment=payment,
            comment=comment,
            sourcing=sourcing,
        )

    try:
        return place(payment, comment)
    except DomainError as exc:
        if exc.code != "PAYMENT_TOO_LARGE" or payment is None:
            raise
    # Our prices moved since Kaspi priced the order: keep the order, note what Kaspi charged.
    return place(None, f"{comment}: paid {payment.amount} at Kaspi ({payment.method}), more than our prices")


# --- one order -------------------------------------------------------------------------------------------------


def _link(account: KaspiAccount, incoming: KaspiOrderIn, **values: Any) -> KaspiOrder:
    values.update(
        code=incoming.code,
        state=incoming.state,
        status=incoming.status,
        kaspi_delivery=incoming.kaspi_delivery,
        created_on_kaspi=incoming.created,
        updated_at=clock.now(),
    )
    try:
        with transaction.atomic():
            link, _ = KaspiOrder.objects.update_or_create(account=account, kaspi_id=incoming.id, defaults=values)
    except IntegrityError:  # another poll recorded it at the same moment
        KaspiOrder.objects.filter(account=account, kaspi_id=incoming.id).update(**values)
        link = KaspiOrder.objects.get(account=account, kaspi_id=incoming.id)
    return link


def _record(link: KaspiOrder, **values: Any) -> None:
    values["updated_at"] = clock.now()
    for name, value in values.items():
        setattr(link, name, value)
    link.save(update_fields=list(values))


def _fail(result: PollResult, account: KaspiAccount, incoming: KaspiOrderIn, message: str) -> KaspiOrder:
    logger.warning("kaspi %s: order %s skipped: %s", account.name, incoming.code, message)
    result.failed += 1
    result.errors.append(message)
    return _link(account, incoming, outcome=Outcome.FAILED, error=message[:2000])


def handle_order(client: KaspiClient, account: KaspiAccount, incoming: KaspiOrderIn, result: PollResult) -> bool:
    """Bring one Kaspi order as far as it goes; False when a transient failure leaves it for the next poll."""
    link = KaspiOrder.objects.select_related("order").filter(account=account, kaspi_id=incoming.id).first()
    if link is not None and (link.state, link.status) != (incoming.state, incoming.status):
        _record(link, state=incoming.state, status=incoming.status)
    if link is not None and link.order is not None and incoming.status == "CANCELLED":
        _cancelled_at_kaspi(account, link, incoming.cancellation_reason)
        return True
    if (
        link is not None
        and link.outcome == Outcome.FAILED
        and link.order is None
        and link.updated_at <= clock.now() - RETRY_FAILED_AFTER
    ):
        link = None  # try the import again
    if link is None:
        if incoming.status not in IMPORTED_STATUSES or incoming.state == "ARCHIVE":
            return True  # not approved by the bank yet, or already over: nothing to do
        try:
            entries = parse_entries(client.entries(incoming.id), code=incoming.code)
        except KaspiError as exc:
            if exc.transient:
                result.to_retry += 1
                result.errors.append(f"order {incoming.code}: entries: {exc}")
                return False
            _fail(result, account, incoming, f"order {incoming.code}: entries: {exc}")
            return True
        except BadPayload as exc:
            _fail(result, account, incoming, str(exc))
            return True
        try:
            placed = _place(incoming, entries)
        except OutOfStock as exc:
            logger.info("kaspi %s: order %s out of stock: %s", account.name, incoming.code, exc.message)
            link = _link(account, incoming, outcome=Outcome.OUT_OF_STOCK, error=exc.message)
        except DomainError as exc:
            _fail(result, account, incoming, f"order {incoming.code}: {exc.code}: {exc.message}")
            return True
        else:
            result.imported += int(placed.created)
            link = _link(account, incoming, outcome=Outcome.PLACED, order=placed.order, error="")
    if link.outcome == Outcome.PLACED:
        return _accept(client, account, link, result)
    if link.outcome == Outcome.OUT_OF_STOCK:
        return _cancel_out_of_stock(client, account, link, result)
    return True


def _cancelled_at_kaspi(account: KaspiAccount, link: KaspiOrder, reason: str) -> None:
    """Kaspi cancelled the order: cancel ours (its stock is released), and do not tell Kaspi back."""
    order = link.order
    if order is None or order.status == Order.Status.CANCELLED:
        return
    _record(link, pushed_status="CANCELLED")
    try:
        actions.check_transition(
            actor=None, order=order, to=Order.Status.CANCELLED, reason=f"cancelled at Kaspi.kz {reason}".strip()
        )
    except DomainError as exc:
        message = f"order {link.code} was cancelled at Kaspi but not here: {exc.code}: {exc.message}"
        logger.warning("kaspi %s: %s", account.name, message)
        _record(link, error=message[:2000])


def _accept(client: KaspiClient, account: KaspiAccount, link: KaspiOrder, result: PollResult) -> bool:
    if link.status == "ACCEPTED_BY_MERCHANT":
        _record(link, outcome=Outcome.ACCEPTED, pushed_status="ACCEPTED_BY_MERCHANT")
        return True
    try:
        client.set_status(order_id=link.kaspi_id, code=link.code, status="ACCEPTED_BY_MERCHANT")
    except KaspiError as exc:
        message = f"order {link.code}: accepting: {exc}"
        result.errors.append(message)
        if exc.transient:
            result.to_retry += 1
            return False
        logger.warning("kaspi %s: %s", account.name, message)
        result.failed += 1
        _record(link, outcome=Outcome.FAILED, error=message[:2000])
        return True
    result.accepted += 1
    _record(link, outcome=Outcome.ACCEPTED, status="ACCEPTED_BY_MERCHANT", pushed_status="ACCEPTED_BY_MERCHANT")
    return True


def _cancel_out_of_stock(client: KaspiClient, account: KaspiAccount, link: KaspiOrder, result: PollResult) -> bool:
    try:
        client.set_status(
            order_id=link.kaspi_id, code=link.code, status="CANCELLED", cancellationReason="MERCHANT_OUT_OF_STOCK"
        )
    except KaspiError as exc:
        message = f"order {link.code}: cancelling (out of stock): {exc}"
        result.errors.append(message)
        if exc.transient:
            result.to_retry += 1
            return False
        logger.warning("kaspi %s: %s", account.name, message)
        result.failed += 1
        _record(link, outcome=Outcome.FAILED, error=message[:2000])
        return True
    result.cancelled += 1
    _record(link, outcome=Outcome.CANCELLED, status="CANCELLED", pushed_status="CANCELLED")
    return True


# --- the poll --------------------------------------------------------------------------------------------------


def poll_account(account: KaspiAccount, *, now: dt.datetime | None = None) -> PollResult:
    """Import the account's new orders (see the module docstring) and move its watermark on."""
    now = now or clock.now()
    result = PollResult()
    start = account.watermark or now - LOOKBACK
    reached = start  # everything created before this was handled
    pending: list[dt.datetime] = []  # creation dates of orders left for the next poll
    stopped = False
    with KaspiClient(account.token) as client:
        for since, until in windows(start, now):
            for state in POLLED_STATES:
                try:
                    for page in client.orders(state=state, since=since, until=until):
                        for resource in page.orders:
                            try:
                                incoming = parse_order(resource, page.included)
                            except BadPayload as exc:
                                logger.warning("kaspi %s: %s", account.name, exc)
                                result.failed += 1
                                result.errors.append(str(exc))
                                continue
                            try:
                                handled = handle_order(client, account, incoming, result)
                            except Exception as exc:  # one order's surprise must not end the poll
                                logger.exception("kaspi %s: order %s failed", account.name, incoming.code)
                                _fail(result, account, incoming, f"order {incoming.code}: unexpected {exc!r}")
                                handled = True
                            if not handled:
                                pending.append(incoming.created)
                except KaspiError as exc:
                    logger.warning("kaspi %s: listing %s orders failed: %s", account.name, state, exc)
                    result.errors.append(f"listing {state} orders: {exc}")
                    stopped = True
                    break
            if stopped:
                break
            reached = until
        _follow_archive(client, account, now, result)
    watermark = min([reached, now - LOOKBACK, *pending])
    account.watermark = max(watermark, start)
    account.last_polled_at = now
    account.last_error = "\n".join(result.errors)[:4000]
    account.save(update_fields=["watermark", "last_polled_at", "last_error"])
    return result


def _follow_archive(client: KaspiClient, account: KaspiAccount, now: dt.datetime, result: PollResult) -> None:
    """Orders placed here that Kaspi has since archived (cancelled, mostly) are brought in line."""
    if not KaspiOrder.objects.filter(
        account=account, order__isnull=False, created_on_kaspi__gte=now - FOLLOW_ARCHIVE
    ).exists():
        return
    try:
        for page in client.orders(state="ARCHIVE", since=now - FOLLOW_ARCHIVE, until=now, size=100):
            ids = [text(r.get("id")) for r in page.orders if isinstance(r, dict)]
            ours = set(
                KaspiOrder.objects.filter(account=account, kaspi_id__in=ids, order__isnull=False).values_list(
                    "kaspi_id", flat=True
                )
            )
            for resource in page.orders:
                if isinstance(resource, dict) and text(resource.get("id")) in ours:
                    try:
                        handle_order(client, account, parse_order(resource, page.included), result)
                    except BadPayload as exc:
                        logger.warning("kaspi %s: %s", account.name, exc)
    except KaspiError as exc:
        logger.warning("kaspi %s: listing ARCHIVE orders failed: %s", account.name, exc)
        result.errors.append(f"listing ARCHIVE orders: {exc}")


def poll_all() -> dict[str, int]:
    """Poll every active account, each once at a time (see marketplace.poll_all)."""
    return marketplace.poll_all(KaspiAccount.objects.filter(is_active=True), poll_account, lease=LEASE, name="kaspi")


# --- our status changes, back to Kaspi ------------------------------------------------------------------------


def _kaspi_change(link: KaspiOrder, order: Order) -> tuple[str, dict[str, Any]] | None:
    """The status change Kaspi accepts for where our order now is, or None when there is none to make."""
    if order.status == Order.Status.CANCELLED and link.status != "CANCELLED":
        reason = StatusChange.objects.filter(order=order, new=Order.Status.CANCELLED).order_by("-at", "-id").first()
        extra: dict[str, Any] = {"cancellationReason": "BUYER_CANCELLATION_BY_MERCHANT"}
        if reason is not None and reason.reason.strip():
            extra["cancellationComment"] = reason.reason.strip()[:1000]
        return "CANCELLED", extra
    if order.status in (Order.Status.READY, Order.Status.SHIPPED) and link.kaspi_delivery:
        return "ASSEMBLE", {"numberOfSpace": 1}  # packed for the Kaspi courier: Kaspi makes the waybill
    # Completing at Kaspi needs the buyer's SMS code (handed over in Kaspi's own app); the rest has no
    # counterpart in the Shop API.
    return None


def push_status(order_id: int) -> Pushed:
    """Tell Kaspi where our order `order_id` now is, if it came from Kaspi and Kaspi has a matching status."""
    link = KaspiOrder.objects.select_related("account", "order").filter(order_id=order_id).first()
    if link is None or link.order is None:
        return Pushed("not a Kaspi order")
    change = _kaspi_change(link, link.order)
    if change is None:
        return Pushed(f"nothing to tell Kaspi for {link.order.status}")
    status, extra = change
    if link.pushed_status == status:
        return Pushed(f"Kaspi knows already: {status}")
    try:
        with KaspiClient(link.account.token) as client:
            client.set_status(order_id=link.kaspi_id, code=link.code, status=status, **extra)
    except KaspiError as exc:
        logger.warning("kaspi: telling order %s %s failed: %s", link.code, status, exc)
        _record(link, error=f"{status}: {exc}"[:2000])
        return Pushed(f"{status}: {exc}", retry=exc.transient)
    _record(link, pushed_status=status, error="")
    return Pushed(status)
