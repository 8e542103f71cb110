"""Satu.kz orders arrive by themselves (channels.md §9), and our status changes go back where Satu allows.

Every minute each active SatuAccount is polled: `GET /orders/list`, newest first, paged down by
`last_id` until the account's cursor (`SatuAccount.last_id`: every order up to that id was handled;
the first poll looks back two days with `date_from`). Each order seen for the first time that is
still live at Satu (pending; or received, paid or a custom status when handled in the cabinet already) has its buyer
resolved by phone (with name and e-mail), its products matched to our variants by `sku` (else
`external_id`), its delivery option read as delivery or self-pickup (at the account's pick-up store)
and its payment option mapped, and is placed through `check_place_order` (source satu, external id =
the Satu order id: a repeat is the same order). Lines are priced ours (a Satu channel price if a
manager set one); what the buyer pays at Satu is recorded as the payment. Then Satu is told:
`received`, or `canceled` with `not_available` when the stock is not there (nothing is left
reserved). Satu answers 200 even when it does not apply a change: an order missing from
`processed_ids` is a refusal, recorded on the SatuOrder (a refused cancellation is its own outcome,
for the owner to cancel it in the Satu cabinet).

A draft (an order not yet placed at Satu) is recorded and read again by id every few minutes for a
week: once it is placed (pending, or handled in the cabinet) it is imported like any new order, even
though the cursor has long passed it.

A payload with an unexpected shape, an unknown SKU or a pick-up without a store is logged, recorded
(SatuOrder.error and the account's last_error) and skipped: the rest of the poll goes on, and the
order is tried again every 15 minutes. A transient failure (5xx, 429, network) leaves the order for
the next poll and the cursor never passes it; a listing that fails leaves the cursor where it was.
Orders placed here that Satu cancels are cancelled here too (their stock released).

Our side goes back through `push_status` (a task enqueued after commit): paid → `paid`, delivered /
picked up / completed → `delivered`, cancelled → `canceled` (a refusal is recorded, not retried).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from omnia.catalog import queries as catalog_queries
from omnia.core import clock
from omnia.core.errors import DomainError
from omnia.core.phones import normalize_phone
from omnia.inventory.errors import OutOfStock
from omnia.inventory.models import Location
from omnia.orders import actions, actions_payments, marketplace
from omnia.orders.marketplace import PollResult, Pushed, text
from omnia.orders.models import Order, Payment, SatuAccount, SatuOrder, StatusChange
from omnia.orders.satu.client import SATU_TIME, SatuClient, SatuError

logger = logging.getLogger(__name__)

# Satu statuses of an order still to be handed out: pending waits for the shop's acceptance; received
# (accepted in the cabinet), paid and the shop's own `custom-{id}` statuses (set in the cabinet while
# handling an order) seen for the first time are imported without accepting again. Drafts, delivered
# and canceled orders never seen are left alone.
TO_ACCEPT = "pending"
LIVE_STATUSES = frozenset({"pending", "received", "paid"})
CUSTOM_PREFIX = "custom-"


def is_live(status: str) -> bool:
    return status in LIVE_STATUSES or status.startswith(CUSTOM_PREFIX)


CANCELED = "canceled"
DRAFT = "draft"
# A draft is read again this often (at most RETRY_BATCH per poll), for this long after Satu made it.
DRAFT_RECHECK = dt.timedelta(minutes=5)
FOLLOW_DRAFTS = dt.timedelta(days=7)
# The first poll of an account reads the orders created this far back.
LOOKBACK = dt.timedelta(days=2)
# Orders cancelled at Satu are followed this long after they were placed here.
FOLLOW_CANCELLED = dt.timedelta(days=14)
# An order that could not be imported (an unknown SKU, no pick-up store, a refused acceptance) is tried
# again this often, at most RETRY_BATCH per poll.
RETRY_FAILED_AFTER = dt.timedelta(minutes=15)
RETRY_BATCH = 20
# A poll holds its account this long at most: a second poll does not start while one runs.
LEASE = dt.timedelta(minutes=10)
PICKUP_WORDS = ("самовывоз", "pickup", "pick-up", "pick up", "алып кету")
Outcome = SatuOrder.Outcome


class BadPayload(ValueError):
    """A Satu order without the fields the import needs."""


@dataclass(frozen=True)
class ProductIn:
    sku: str
    external_id: str
    name: str
    quantity: int
    total: Decimal | None


@dataclass(frozen=True)
class SatuOrderIn:
    id: int
    status: str
    created: dt.datetime | None
    phone: str
    name: str
    email: str
    products: tuple[ProductIn, ...]
    delivery_name: str
    delivery_service: str
    address: str
    city: str
    payment_name: str
    paid_at_satu: bool
    total: Decimal | None
    notes: str
    cancellation: str = ""


# --- reading the payloads ----------------------------------------------------------------------------------


def _money(value: Any) -> Decimal | None:
    """A Satu amount: a number, or a string such as "4990.00", "4 990 ₸" or "1 999,50 тг."."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = re.sub(r"[^\d.,-]", "", value).strip(".,")  # "тг." leaves a dot behind
    if "," in text:
        # "4,990.00": thousands; "1999,50": decimals
        text = text.replace(",", "") if "." in text else text.replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _quantity(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = _money(value)
    if isinstance(value, float | Decimal):
        if value != int(value):
            return None
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None


def _moment(value: Any) -> dt.datetime | None:
    """`date_created` ("2026-11-25T10:15:00.123456+00:00"; without an offset it is Almaty time)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=SATU_TIME)


def order_id(resource: Any) -> int | None:
    """The Satu order id of a listed order, or None when it has none."""
    if not isinstance(resource, dict):
        return None
    value = resource.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _name(*parts: Any) -> str:
    return " ".join(text for text in (text(part) for part in parts) if text)


def parse_order(resource: Any) -> SatuOrderIn:
    """The fields the import needs from one Satu order; BadPayload when it lacks them."""
    satu_id = order_id(resource)
    if satu_id is None or not isinstance(resource, dict):
        raise BadPayload(f"an order without id: {str(resource)[:200]}")
    status = text(resource.get("status"))
    if not status:
        raise BadPayload(f"order {satu_id}: no status")
    client = resource.get("client")
    client = client if isinstance(client, dict) else {}
    phone = text(resource.get("phone")) or text(client.get("phone"))
    name = _name(resource.get("client_first_name"), resource.get("client_last_name")) or _name(
        client.get("first_name"), client.get("last_name")
    )
    raw_products = resource.get("products")
    if not isinstance(raw_products, list):
        raise BadPayload(f"order {satu_id}: `products` is not a list")
    products = []
    for item in raw_products:
        if not isinstance(item, dict):
            raise BadPayload(f"order {satu_id}: a product that is not an object: {str(item)[:100]}")
        sku, external_id = text(item.get("sku")), text(item.get("external_id"))
        if not sku and not external_id:
            raise BadPayload(f"order {satu_id}: product {text(item.get('name'))!r} has neither sku nor external_id")
        quantity = _quantity(item.get("quantity"))
        if quantity is None:
            raise BadPayload(f"order {satu_id}: product {sku or external_id} has quantity {item.get('quantity')!r}")
        products.append(
            ProductIn(
                sku=sku,
                external_id=external_id,
                name=text(item.get("name")),
                quantity=quantity,
                total=_money(item.get("total_price")),
            )
        )
    if not products and is_live(status):
        raise BadPayload(f"order {satu_id}: no products")
    delivery = resource.get("delivery_option")
    delivery = delivery if isinstance(delivery, dict) else {}
    provider = resource.get("delivery_provider_data")
    recipient = provider.get("recipient_address") if isinstance(provider, dict) else None
    address = text(resource.get("delivery_address"))
    city = text(recipient.get("city_name")) if isinstance(recipient, dict) else ""
    if not city and "," in address:
        city = address.split(",", 1)[0].strip()
    payment = resource.get("payment_option")
    payment = payment if isinstance(payment, dict) else {}
    payment_data = resource.get("payment_data")
    cancellation = resource.get("cancellation")
    return SatuOrderIn(
        id=satu_id,
        status=status,
        created=_moment(resource.get("date_created")),
        phone=phone,
        name=name,
        email=text(resource.get("email")) or text(client.get("email")),
        products=tuple(products),
        delivery_name=text(delivery.get("name")),
        delivery_service=text(delivery.get("shipping_service")),
        address=address,
        city=city,
        payment_name=text(payment.get("name")),
        paid_at_satu=isinstance(payment_data, dict) and text(payment_data.get("status")) == "paid",
        total=_money(resource.get("price")),
        notes=text(resource.get("client_notes")),
        cancellation=text(cancellation.get("title")) if isinstance(cancellation, dict) else "",
    )


# --- turning a Satu order into ours ----------------------------------------------------------------------------


def is_pickup(incoming: SatuOrderIn) -> bool:
    text = f"{incoming.delivery_name} {incoming.delivery_service}".casefold()
    return any(word in text for word in PICKUP_WORDS)


def pickup_location(account: SatuAccount) -> Location | None:
    """The account's pick-up store, else the only active store offering pick-up, else None."""
    chosen = account.pickup_location
    if chosen is not None and chosen.is_active and chosen.offers_pickup:
        return chosen
    offering = list(Location.objects.filter(is_active=True, offers_pickup=True).order_by("pk")[:2])
    return offering[0] if len(offering) == 1 else None


def _fulfillment(account: SatuAccount, incoming: SatuOrderIn) -> actions.FulfillmentIn:
    if is_pickup(incoming):
        location = pickup_location(account)
        if location is None:
            raise DomainError(
                f"order {incoming.id}: self-pickup, but the Satu account has no pick-up store",
                code="SATU_PICKUP_STORE_MISSING",
            )
        return actions.FulfillmentIn(type=Order.Fulfillment.PICKUP, location=location)
    city = incoming.city
    if not city and account.pickup_location is not None:
        city = account.pickup_location.city  # Satu gave no city: the shop's own, to be checked by the operator
    if not city:
        raise DomainError(f"order {incoming.id}: a delivery without a city", code="ADDRESS_REQUIRED")
    address = {
        "city": city,
        "line1": incoming.address,
        "satu_delivery": incoming.delivery_name,
        "satu_shipping_service": incoming.delivery_service,
    }
    return actions.FulfillmentIn(type=Order.Fulfillment.DELIVERY, address={k: v for k, v in address.items() if v})


def _lines(incoming: SatuOrderIn) -> list[actions.LineIn]:
    """Our variants for the products: by `sku` (the article), else by `external_id` (the feed's offer id)."""
    variants = catalog_queries.find_variants_by_sku(
        code for product in incoming.products for code in (product.sku, product.external_id)
    )
    quantities: dict[int, int] = {}
    by_pk = {}
    unknown = []
    for product in incoming.products:
        variant = variants.get(product.sku) or variants.get(product.external_id)
        if variant is None:
            unknown.append(product.sku or product.external_id)
            continue
        by_pk[variant.pk] = variant
        quantities[variant.pk] = quantities.get(variant.pk, 0) + product.quantity
    if unknown:
        raise DomainError(f"order {incoming.id}: unknown SKU {', '.join(sorted(set(unknown)))}", code="SKU_NOT_FOUND")
    return [actions.LineIn(by_pk[pk], quantity) for pk, quantity in quantities.items()]


def payment_method(name: str, *, pickup: bool) -> str | None:
    """Our payment method for a Satu payment option's name, or None when it says nothing we know."""
    text = name.casefold()
    if "kaspi" in text or "каспи" in text:
        credit = any(word in text for word in ("red", "кредит", "рассроч", "несие"))
        return Payment.Method.KASPI_RED if credit else Payment.Method.KASPI_PAY
    if any(word in text for word in ("безнал", "счет", "счёт", "перевод", "transfer", "invoice", "шот")):
        return Payment.Method.BANK_TRANSFER  # before cash: "безналичный" holds "налич"
    if any(word in text for word in ("налич", "cash", "қолма-қол", "наложен")):
        return Payment.Method.CASH_IN_STORE if pickup else Payment.Method.CASH_ON_DELIVERY
    if any(word in text for word in ("карт", "card", "онлайн", "online", "satu pay", "пром")):
        return Payment.Method.CARD_ONLINE
    return None


def _place(account: SatuAccount, incoming: SatuOrderIn) -> actions.Placed:
    """Place the Satu order here (stock taken by the default sourcing: the pick-up store first)."""
    fulfillment = _fulfillment(account, incoming)
    lines = _lines(incoming)
    customer = actions.CustomerIn(
        phone=normalize_phone(incoming.phone, region="KZ", field="customer.phone"),
        name=incoming.name,
        email=incoming.email,
    )
    amounts = [product.total for product in incoming.products if product.total is not None]
    due = sum(amounts, Decimal(0)) if len(amounts) == len(incoming.products) else incoming.total
    method = payment_method(incoming.payment_name, pickup=fulfillment.type == Order.Fulfillment.PICKUP)
    payment = (
        actions.PaymentIn(method=method, amount=due, reference=f"satu:{incoming.id}")
        if method is not None and due is not None and due > 0
        else None
    )
    notes = [f"Satu.kz {incoming.id}"]
    notes += [text for text in (incoming.delivery_name, incoming.payment_name) if text]
    comment = " · ".join(notes) + (f"\n{incoming.notes}" if incoming.notes else "")

    def place(payment: actions.PaymentIn | None, comment: str) -> actions.Placed:
        return actions.check_place_order(
            actor=None,
            customer=customer,
            source="satu",
            external_id=str(incoming.id),
            lines=lines,
            fulfillment=fulfillment,
            payment=payment,
            comment=comment,
        )

    try:
        placed = place(payment, comment)
    except DomainError as exc:
        if exc.code != "PAYMENT_TOO_LARGE" or payment is None:
            raise
        # Our prices moved since Satu priced the order: keep the order, note what the buyer pays at Satu.
        return place(None, f"{comment}\nto pay at Satu: {payment.amount} ({payment.method}), more than our prices")
    if placed.created and incoming.paid_at_satu and payment is not None:
        _mark_paid(placed.order)
    return placed


def _mark_paid(order: Order) -> None:
    """Satu says the buyer paid (online at Satu): the recorded payment is paid."""
    for recorded in Payment.objects.filter(order=order, status=Payment.Status.PENDING):
        try:
            actions_payments.check_set_payment_status(actor=None, payment=recorded, status=Payment.Status.PAID)
        except DomainError as exc:
            logger.warning("satu: order %s: marking the payment paid failed: %s", order.number, exc)


# --- one order -------------------------------------------------------------------------------------------------


def _link(account: SatuAccount, satu_id: int, status: str, created: dt.datetime | None, **values: Any) -> SatuOrder:
    values.update(status=status[:40], updated_at=clock.now())
    if created is not None:
        values["created_on_satu"] = created
    try:
        with transaction.atomic():
            link, _ = SatuOrder.objects.update_or_create(account=account, satu_id=satu_id, defaults=values)
    except IntegrityError:  # another poll recorded it at the same moment
        SatuOrder.objects.filter(account=account, satu_id=satu_id).update(**values)
        link = SatuOrder.objects.get(account=account, satu_id=satu_id)
    return link


def _record(link: SatuOrder, **values: Any) -> None:
    values["updated_at"] = clock.now()
    for name, value in values.items():
        setattr(link, name, value)
    link.save(update_fields=list(values))


def _fail(result: PollResult, account: SatuAccount, satu_id: int, status: str, message: str) -> None:
    """Record an order that could not be imported (tried again after RETRY_FAILED_AFTER)."""
    logger.warning("satu %s: order %s skipped: %s", account.name, satu_id, message)
    result.failed += 1
    result.errors.append(message)
    existing = SatuOrder.objects.filter(account=account, satu_id=satu_id).first()
    if existing is not None and existing.order is not None:
        _record(existing, outcome=Outcome.FAILED, error=message[:2000])  # placed here: keep the link
        return
    _link(account, satu_id, status, None, outcome=Outcome.FAILED, error=message[:2000], order=None)


def handle_raw(client: SatuClient, account: SatuAccount, resource: Any, result: PollResult) -> bool:
    """Bring one listed order as far as it goes; False when a transient failure leaves it for the next poll.
    A shape the import cannot read is recorded as failed; an order without an id is only logged."""
    satu_id = order_id(resource)
    if satu_id is None:
        message = f"an order without id: {str(resource)[:200]}"
        logger.warning("satu %s: %s", account.name, message)
        result.failed += 1
        result.errors.append(message)
        return True
    status = text(resource.get("status")) if isinstance(resource, dict) else ""
    try:
        incoming = parse_order(resource)
    except BadPayload as exc:
        _fail(result, account, satu_id, status, str(exc))
        return True
    try:
        return handle_order(client, account, incoming, result)
    except Exception as exc:  # one order's surprise must not end the poll
        logger.exception("satu %s: order %s failed", account.name, satu_id)
        _fail(result, account, satu_id, status, f"order {satu_id}: unexpected {exc!r}")
        return True


def handle_order(client: SatuClient, account: SatuAccount, incoming: SatuOrderIn, result: PollResult) -> bool:
    """Bring one Satu order as far as it goes; False when a transient failure leaves it for the next poll."""
    link = SatuOrder.objects.select_related("order").filter(account=account, satu_id=incoming.id).first()
    if link is not None and link.status != incoming.status:
        _record(link, status=incoming.status)
    if link is not None and link.order is not None and incoming.status == CANCELED:
        _cancelled_at_satu(account, link, incoming.cancellation)
        return True
    if link is not None and link.outcome == Outcome.FAILED and link.updated_at <= clock.now() - RETRY_FAILED_AFTER:
        if link.order is None:
            link = None  # try the import again: the SKU or the pick-up store may be there now
        else:
            _record(link, outcome=Outcome.PLACED)  # placed here, Satu refused the acceptance: ask again
    if link is not None and link.outcome == Outcome.DRAFT and link.order is None and incoming.status != DRAFT:
        link = None  # the draft was placed at Satu (or dropped): as if seen for the first time
    if link is None:
        if incoming.status == DRAFT:  # not an order yet: followed by _follow_drafts until it is one
            made = incoming.created or clock.now()  # followed for FOLLOW_DRAFTS from when it was made (or seen)
            _link(account, incoming.id, incoming.status, made, outcome=Outcome.DRAFT, order=None)
            return True
        if not is_live(incoming.status):
            return True  # cancelled or over before we saw it: nothing to do
        try:
            placed = _place(account, incoming)
        except OutOfStock as exc:
            logger.info("satu %s: order %s out of stock: %s", account.name, incoming.id, exc.message)
            link = _link(
                account, incoming.id, incoming.status, incoming.created, outcome=Outcome.OUT_OF_STOCK, error=exc.message
            )
        except DomainError as exc:
            _fail(result, account, incoming.id, incoming.status, f"order {incoming.id}: {exc.code}: {exc.message}")
            return True
        else:
            result.imported += int(placed.created)
            link = _link(
                account,
                incoming.id,
                incoming.status,
                incoming.created,
                outcome=Outcome.PLACED,
                order=placed.order,
                error="",
            )
    if link.outcome == Outcome.PLACED:
        return _accept(client, account, link, result)
    if link.outcome == Outcome.OUT_OF_STOCK:
        return _cancel_out_of_stock(client, account, link, result)
    return True


def _cancelled_at_satu(account: SatuAccount, link: SatuOrder, reason: str) -> None:
    """Satu cancelled the order: cancel ours (its stock is released), and do not tell Satu back."""
    order = link.order
    if order is None or order.status == Order.Status.CANCELLED:
        return
    _record(link, pushed_status=CANCELED)
    try:
        actions.check_transition(
            actor=None, order=order, to=Order.Status.CANCELLED, reason=f"cancelled at Satu.kz {reason}".strip()
        )
    except DomainError as exc:
        message = f"order {link.satu_id} was cancelled at Satu but not here: {exc.code}: {exc.message}"
        logger.warning("satu %s: %s", account.name, message)
        _record(link, error=message[:2000])


def _accept(client: SatuClient, account: SatuAccount, link: SatuOrder, result: PollResult) -> bool:
    if link.status != TO_ACCEPT:
        _record(link, outcome=Outcome.ACCEPTED, error="")  # accepted in the Satu cabinet already
        return True
    try:
        client.set_status(link.satu_id, "received")
    except SatuError as exc:
        message = f"order {link.satu_id}: accepting: {exc}"
        result.errors.append(message)
        if exc.transient:
            result.to_retry += 1
            return False
        logger.warning("satu %s: %s", account.name, message)
        result.failed += 1
        _record(link, outcome=Outcome.FAILED, error=message[:2000])
        return True
    result.accepted += 1
    _record(link, outcome=Outcome.ACCEPTED, status="received", pushed_status="received", error="")
    return True


def _cancel_out_of_stock(client: SatuClient, account: SatuAccount, link: SatuOrder, result: PollResult) -> bool:
    try:
        client.set_status(link.satu_id, CANCELED, cancellation_reason="not_available")
    except SatuError as exc:
        message = f"order {link.satu_id}: out of stock, cancelling at Satu: {exc}"
        result.errors.append(message)
        if exc.transient:
            result.to_retry += 1
            return False
        logger.warning("satu %s: %s", account.name, message)
        result.failed += 1
        _record(link, outcome=Outcome.CANCEL_REFUSED, error=message[:2000])
        return True
    result.cancelled += 1
    _record(link, outcome=Outcome.CANCELLED, status=CANCELED, pushed_status=CANCELED, error="")
    return True


# --- the poll --------------------------------------------------------------------------------------------------


def poll_account(account: SatuAccount, *, now: dt.datetime | None = None) -> PollResult:
    """Import the account's new orders (see the module docstring) and move its cursor on."""
    now = now or clock.now()
    result = PollResult()
    stop_at = account.last_id
    listed: dict[int, Any] = {}
    read_to_the_end = False
    with SatuClient(account.token) as client:
        try:
            for page in client.orders(date_from=now - LOOKBACK if stop_at is None else None, stop_at=stop_at):
                for resource in page:
                    satu_id = order_id(resource)
                    if satu_id is None:
                        handle_raw(client, account, resource, result)  # logged and counted
                    elif stop_at is None or satu_id > stop_at:
                        listed.setdefault(satu_id, resource)
            read_to_the_end = True
        except SatuError as exc:
            logger.warning("satu %s: listing orders failed: %s", account.name, exc)
            result.errors.append(f"listing orders: {exc}")
        left: list[int] = []
        for satu_id in sorted(listed):  # oldest first
            if not handle_raw(client, account, listed[satu_id], result):
                left.append(satu_id)
        _retry_failed(client, account, now, result, skip=set(listed))
        _follow_drafts(client, account, now, result, skip=set(listed))
        _follow_cancelled(client, account, now, result)
    fields = ["last_polled_at", "last_error"]
    if read_to_the_end and listed:
        # Everything up to just before the first order left for the next poll is handled.
        reached = min(left) - 1 if left else max(listed)
        if stop_at is None or reached > stop_at:
            account.last_id = reached
            fields.append("last_id")
    account.last_polled_at = now
    account.last_error = "\n".join(result.errors)[:4000]
    account.save(update_fields=fields)
    return result


def _retry_failed(
    client: SatuClient, account: SatuAccount, now: dt.datetime, result: PollResult, *, skip: set[int]
) -> None:
    """Orders that failed a while ago and are still live at Satu are read again and retried."""
    failed = SatuOrder.objects.filter(
        account=account, outcome=Outcome.FAILED, updated_at__lte=now - RETRY_FAILED_AFTER
    ).filter(Q(status__in=LIVE_STATUSES) | Q(status__startswith=CUSTOM_PREFIX))
    _read_again(client, account, failed.exclude(satu_id__in=skip), result)


def _follow_drafts(
    client: SatuClient, account: SatuAccount, now: dt.datetime, result: PollResult, *, skip: set[int]
) -> None:
    """Drafts seen this week and not read for DRAFT_RECHECK are read again: a placed one is imported."""
    drafts = SatuOrder.objects.filter(
        account=account,
        outcome=Outcome.DRAFT,
        status=DRAFT,
        updated_at__lte=now - DRAFT_RECHECK,
        created_on_satu__gte=now - FOLLOW_DRAFTS,
    )
    _read_again(client, account, drafts.exclude(satu_id__in=skip), result)


def _read_again(client: SatuClient, account: SatuAccount, links: QuerySet[SatuOrder], result: PollResult) -> None:
    """Read these recorded orders again by id, the longest unread first (RETRY_BATCH at most), and bring
    each as far as it goes; each is marked read. Satu not answering ends the round: the next poll goes on."""
    for satu_id in links.order_by("updated_at").values_list("satu_id", flat=True)[:RETRY_BATCH]:
        try:
            resource = client.order(satu_id)
        except SatuError as exc:
            result.errors.append(f"order {satu_id}: reading it again: {exc}")
            if exc.transient:
                return
        else:
            handle_raw(client, account, resource, result)
        SatuOrder.objects.filter(account=account, satu_id=satu_id).update(updated_at=clock.now())


def _follow_cancelled(client: SatuClient, account: SatuAccount, now: dt.datetime, result: PollResult) -> None:
    """Orders placed here that Satu has since cancelled (the buyer, mostly) are cancelled here too."""
    since = now - FOLLOW_CANCELLED
    live = SatuOrder.objects.filter(account=account, order__isnull=False, order__placed_at__gte=since).exclude(
        order__status=Order.Status.CANCELLED
    )
    if not live.exists():
        return
    try:
        for page in client.orders(status=CANCELED, date_from=since):
            ids = [satu_id for satu_id in map(order_id, page) if satu_id is not None]
            ours = set(live.filter(satu_id__in=ids).values_list("satu_id", flat=True))
            for resource in page:
                if order_id(resource) in ours:
                    handle_raw(client, account, resource, result)
    except SatuError as exc:
        logger.warning("satu %s: listing cancelled orders failed: %s", account.name, exc)
        result.errors.append(f"listing cancelled orders: {exc}")


def poll_all() -> dict[str, int]:
    """Poll every active account, each once at a time (see marketplace.poll_all)."""
    return marketplace.poll_all(
        SatuAccount.objects.filter(is_active=True).select_related("pickup_location"),
        poll_account,
        lease=LEASE,
        name="satu",
    )


# --- our status changes, back to Satu -------------------------------------------------------------------------


DELIVERED_HERE = frozenset({Order.Status.DELIVERED, Order.Status.PICKED_UP, Order.Status.COMPLETED})


def _satu_change(link: SatuOrder, order: Order) -> tuple[str, dict[str, str]] | None:
    """The status Satu takes for where our order now is, or None when there is none to set."""
    if order.status == Order.Status.CANCELLED:
        if link.status == CANCELED:
            return None
        change = StatusChange.objects.filter(order=order, new=Order.Status.CANCELLED).order_by("-at", "-id").first()
        text = change.reason.strip() if change is not None and change.reason.strip() else "cancelled by the shop"
        return CANCELED, {"cancellation_reason": "another", "cancellation_text": text}
    if order.status in DELIVERED_HERE and link.status != "delivered":
        return "delivered", {}
    if order.status == Order.Status.PAID and link.status not in ("paid", "delivered"):
        return "paid", {}
    return None  # picking, ready, shipped: Satu has no status for them


def push_status(order_id: int) -> Pushed:
    """Tell Satu where our order `order_id` now is, if it came from Satu and Satu has a matching status."""
    link = SatuOrder.objects.select_related("account", "order").filter(order_id=order_id).first()
    if link is None or link.order is None:
        return Pushed("not a Satu order")
    change = _satu_change(link, link.order)
    if change is None:
        return Pushed(f"nothing to tell Satu for {link.order.status}")
    status, extra = change
    if link.pushed_status == status:
        return Pushed(f"Satu knows already: {status}")
    try:
        with SatuClient(link.account.token) as client:
            client.set_status(link.satu_id, status, **extra)
    except SatuError as exc:
        logger.warning("satu: telling order %s %s failed: %s", link.satu_id, status, exc)
        _record(link, error=f"{status}: {exc}"[:2000])
        return Pushed(f"{status}: {exc}", retry=exc.transient)
    _record(link, status=status, pushed_status=status, error="")
    return Pushed(status)
