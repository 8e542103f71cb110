"""Identity resolution: the one way any channel, order source or import turns a handle into a customer."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q

from omnia.core import bulk, clock
from omnia.core.errors import NotFound, ValidationFailed
from omnia.core.phones import normalize_phone
from omnia.customers import last_seen
from omnia.customers.actions.profile import reindex_customer, search_tokens
from omnia.customers.errors import IdentityTaken, InvalidIdentity
from omnia.customers.models import Customer, Identity

Kind = Identity.Kind
# Handles whose value is itself a phone number (WhatsApp's wa_id is the number's digits).
PHONE_KINDS = frozenset({Kind.PHONE, Kind.WHATSAPP})
_NUMERIC = re.compile(r"^\d{1,20}$")
# "Last seen" is informational (contacts are on the timeline): written at most hourly per handle.
LAST_SEEN_RESOLUTION = dt.timedelta(hours=1)


def normalize_identity(kind: str, raw: str, *, field: str = "value") -> str:
    """The stored form of a handle: E.164 phones, lower-case e-mails, bare ids; ValidationFailed if bad."""
    text = (raw or "").strip()
    if kind not in Kind.values:
        raise InvalidIdentity(f"Unknown identity kind {kind!r}.", field="kind")
    if not text:
        raise InvalidIdentity("The value is empty.", field=field)
    if kind in PHONE_KINDS:
        return normalize_phone(text, field=field)
    if kind == Kind.EMAIL:
        email = text.lower()
        try:
            validate_email(email)
        except DjangoValidationError as exc:
            raise InvalidIdentity(f"{raw!r} is not a valid e-mail address.", field=field, code="EMAIL_INVALID") from exc
        return email
    if kind in (Kind.TELEGRAM, Kind.VK) and not _NUMERIC.match(text):
        raise InvalidIdentity(f"A {Kind(kind).label} id is a number, not {raw!r}.", field=field)
    if kind == Kind.INSTAGRAM:
        return text.lstrip("@").lower()[:255]
    return text[:255]


@dataclass(frozen=True)
class Resolution:
    customer: Customer
    identity: Identity
    created_customer: bool
    created_identity: bool


def _touch_last_seen(identity: Identity, at: dt.datetime) -> None:
    """Move the handle's last-seen forward: written at most hourly per handle (a chatty conversation
    does not write on every message), as one conditional UPDATE in SQL: the ORM takes twice as long
    to build it as the database to run it, on the path of every message of a returning customer."""
    if settings.OMNIA_LAST_SEEN_BUFFER:  # the server: written in a batch off the request path
        last_seen.note(identity.pk, at)
        identity.last_seen_at = at
        return
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} = %s WHERE {} = %s AND {} < %s".format(  # noqa: S608 - model names only
        quote(Identity._meta.db_table), quote("last_seen_at"), quote("id"), quote("last_seen_at")
    )
    value = Identity._meta.get_field("last_seen_at").get_db_prep_save(at, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value, identity.pk, value])
    identity.last_seen_at = at


def _split_name(display_name: str) -> tuple[str, str]:
    parts = display_name.split()
    if not parts:
        return "", ""
    return parts[0][:120], " ".join(parts[1:])[:120]


def _survivor(customer: Customer) -> Customer:
    while customer.merged_into_id is not None:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def _find(kind: str, value: str) -> Identity | None:
    return Identity.objects.select_related("customer").filter(kind=kind, value=value).first()


def _attach(
    *,
    customer: Customer,
    kind: str,
    value: str,
    raw: str,
    channel: str,
    display_name: str,
    verified: bool,
    at: dt.datetime,
) -> tuple[Identity, bool]:
    """Give `customer` the identity (kind, value); if a concurrent request just did, return that one."""
    try:
        with transaction.atomic():
            identity = Identity.objects.create(
                customer=customer,
                kind=kind,
                value=value,
                raw_value=raw[:255],
                display_name=display_name[:200],
                verified=verified,
                first_seen_at=at,
                last_seen_at=at,
                channel=channel,
            )
        return identity, True
    except IntegrityError:
        existing = _find(kind, value)
        if existing is None:  # pragma: no cover - the constraint that failed is this one
            raise
        return existing, False


@transaction.atomic
def _resolve_once(
    *,
    kind: str,
    value: str,
    channel: str = "",
    display_name: str = "",
    phone: str | None = None,
    first_name: str = "",
    last_name: str = "",
    verified: bool = False,
    at: dt.datetime | None = None,
) -> Resolution:
    at = at or clock.now()
    normalized = normalize_identity(kind, value)
    phone_e164 = normalized if kind in PHONE_KINDS else (normalize_phone(phone, field="phone") if phone else None)

    identity = _find(kind, normalized)
    if identity is not None:
        if at - identity.last_seen_at > LAST_SEEN_RESOLUTION:
            _touch_last_seen(identity, at)
        customer = _survivor(identity.customer)
        if phone and phone_e164 and _find(Kind.PHONE, phone_e164) is None:
            # The handle now carries a phone it did not before (e.g. a Telegram contact share).
            _attach(
                customer=customer,
                kind=Kind.PHONE,
                value=phone_e164,
                raw=phone,
                channel=channel,
                display_name="",
                verified=False,
                at=at,
            )
        return Resolution(customer=customer, identity=identity, created_customer=False, created_identity=False)

    owner: Customer | None = None
    phone_identity = _find(Kind.PHONE, phone_e164) if phone_e164 and kind != Kind.PHONE else None
    if phone_identity is not None:
        owner = _survivor(phone_identity.customer)
    created_customer = owner is None
    if owner is None:
        if not (first_name or last_name):
            first_name, last_name = _split_name(display_name)
        owner = Customer.objects.create(
            first_name=first_name[:120],
            last_name=last_name[:120],
            created_source=channel or kind,
            created_at=at,
            updated_at=at,
        )
        reindex_customer(owner)
    customer = owner
    identity, created_identity = _attach(
        customer=customer,
        kind=kind,
        value=normalized,
        raw=value,
        channel=channel,
        display_name=display_name,
        verified=verified,
        at=at,
    )
    if identity.customer_id != customer.pk:
        # Lost a race with a concurrent delivery of the same handle: undo this attempt, use the card that won.
        raise _RetryResolution
    if phone_e164 and kind != Kind.PHONE and phone_identity is None:
        _attach(
            customer=customer,
            kind=Kind.PHONE,
            value=phone_e164,
            raw=phone or value,
            channel=channel,
            display_name="",
            verified=False,
            at=at,
        )
    return Resolution(
        customer=customer, identity=identity, created_customer=created_customer, created_identity=created_identity
    )


def _known(*, kind: str, value: str, phone: str | None, at: dt.datetime) -> Resolution | None:
    """The resolution of a known handle on an active card whose phone (if it carries one) is known too:
    one indexed read, and at most hourly one UPDATE of last-seen, without a transaction (the UPDATE is
    one conditional statement). None when _resolve_once has more to do (or an error to raise)."""
    try:
        normalized = normalize_identity(kind, value)
        if not phone:
            carried = None
        elif kind in PHONE_KINDS:
            carried = normalized  # as in _resolve_once: a phone handle carries its own number
        else:
            carried = normalize_phone(phone, field="phone")
    except ValidationFailed:
        return None
    wanted = Q(kind=kind, value=normalized)
    if carried is not None:
        wanted |= Q(kind=Kind.PHONE, value=carried)
    found = {(i.kind, i.value): i for i in Identity.objects.select_related("customer").filter(wanted).order_by()}
    identity = found.get((kind, normalized))
    if identity is None or identity.customer.is_merged:
        return None
    if carried is not None and (Kind.PHONE, carried) not in found:
        return None  # the handle now carries a phone no card has: _resolve_once attaches it
    if at - identity.last_seen_at > LAST_SEEN_RESOLUTION:
        _touch_last_seen(identity, at)
    return Resolution(customer=identity.customer, identity=identity, created_customer=False, created_identity=False)


class _RetryResolution(Exception):
    pass


def do_resolve_identity(
    *,
    kind: str,
    value: str,
    channel: str = "",
    display_name: str = "",
    phone: str | None = None,
    first_name: str = "",
    last_name: str = "",
    verified: bool = False,
    at: dt.datetime | None = None,
) -> Resolution:
    """The customer behind a handle: its card if known; else the card of the phone it carries; else a new card.

    Never matches on a name. `phone` is a number the handle carries (a Viber or Kaspi profile, an SMS,
    a Telegram contact share); WhatsApp and phone handles carry their own. Raises ValidationFailed
    naming `value` or `phone` for a malformed handle, changing nothing. Safe under concurrency: two
    deliveries of one new handle make one card.
    """
    arguments = {
        "kind": kind,
        "value": value,
        "channel": channel,
        "display_name": display_name,
        "phone": phone,
        "first_name": first_name,
        "last_name": last_name,
        "verified": verified,
        "at": at,
    }
    known = _known(kind=kind, value=value, phone=phone, at=at or clock.now())
    if known is not None:
        return known  # the common case (a returning customer): one indexed read (hourly one UPDATE), no transaction
    try:
        return _resolve_once(**arguments)  # type: ignore[arg-type]
    except _RetryResolution:
        return _resolve_once(**arguments)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PhoneIn:
    """One phone number for do_resolve_phones, as do_resolve_identity takes it."""

    value: str
    channel: str = ""
    display_name: str = ""


def do_resolve_phones(phones: Sequence[PhoneIn], *, at: dt.datetime | None = None) -> list[Resolution]:
    """do_resolve_identity(kind="phone") for many numbers at once (orders placed together), in order.

    One read finds the known numbers; the new ones get their cards, search keys and handles in one
    INSERT each. A number given twice gets one card (made by its first mention). A known number on a
    merged card, or a new number another request gave a card meanwhile, is resolved on its own by
    do_resolve_identity. Raises ValidationFailed naming the first malformed number, changing nothing.
    """
    at = at or clock.now()
    values = [normalize_identity(Kind.PHONE, phone.value) for phone in phones]
    known = {i.value: i for i in Identity.objects.select_related("customer").filter(kind=Kind.PHONE, value__in=values)}
    resolved: dict[str, Resolution] = {}
    new: dict[str, PhoneIn] = {}
    for value, phone in zip(values, phones, strict=True):
        identity = known.get(value)
        if value in resolved or value in new:
            continue
        if identity is None:
            new[value] = phone
        elif identity.customer.is_merged:
            resolved[value] = do_resolve_identity(kind=Kind.PHONE, value=value, channel=phone.channel, at=at)
        else:
            if at - identity.last_seen_at > LAST_SEEN_RESOLUTION:
                _touch_last_seen(identity, at)
            resolved[value] = Resolution(identity.customer, identity, created_customer=False, created_identity=False)
    if new:
        resolved.update(_new_cards(new, at))
    first: set[str] = set()
    answers = []
    for value in values:
        resolution = resolved[value]
        if value in first and resolution.created_customer:  # the card was made for the number's first mention
            resolution = Resolution(resolution.customer, resolution.identity, False, False)
        first.add(value)
        answers.append(resolution)
    return answers


def _new_cards(new: dict[str, PhoneIn], at: dt.datetime) -> dict[str, Resolution]:
    """Cards for numbers nobody has: all in one go, or (another request gave one of them a card since
    they were read) each on its own."""
    try:
        with transaction.atomic():
            cards = bulk.insert(
                [
                    Customer(
                        first_name=first[:120],
                        last_name=last[:120],
                        created_source=phone.channel or Kind.PHONE,
                        created_at=at,
                        updated_at=at,
                    )
                    for phone in new.values()
                    for first, last in [_split_name(phone.display_name)]
                ]
            )
            tokens = [token for card in cards for token in search_tokens(card)]
            if tokens:
                bulk.insert(tokens)
            identities = bulk.insert(
                [
                    Identity(
                        customer=card,
                        kind=Kind.PHONE,
                        value=value,
                        raw_value=phone.value[:255],
                        display_name=phone.display_name[:200],
                        first_seen_at=at,
                        last_seen_at=at,
                        channel=phone.channel,
                    )
                    for card, (value, phone) in zip(cards, new.items(), strict=True)
                ]
            )
    except IntegrityError:
        return {
            value: do_resolve_identity(
                kind=Kind.PHONE, value=value, channel=phone.channel, display_name=phone.display_name, at=at
            )
            for value, phone in new.items()
        }
    return {
        identity.value: Resolution(card, identity, created_customer=True, created_identity=True)
        for card, identity in zip(cards, identities, strict=True)
    }


@transaction.atomic
def check_add_identity(
    *, customer: Customer, kind: str, value: str, channel: str = "console", verified: bool = False, field: str = "value"
) -> Identity:
    """Add a handle to a card; refused (IDENTITY_TAKEN, naming the other card) if another card has it."""
    normalized = normalize_identity(kind, value, field=field)
    existing = _find(kind, normalized)
    if existing is not None:
        if existing.customer_id == customer.pk:
            return existing
        raise IdentityTaken(
            f"{normalized} already belongs to customer #{existing.customer_id}: merge the two cards instead.",
            field=field,
            customer_id=existing.customer_id,
        )
    identity, _ = _attach(
        customer=customer,
        kind=kind,
        value=normalized,
        raw=value,
        channel=channel,
        display_name="",
        verified=verified,
        at=clock.now(),
    )
    return identity


@transaction.atomic
def do_remove_identity(*, customer: Customer, identity_id: int) -> None:
    deleted, _ = Identity.objects.filter(pk=identity_id, customer=customer).delete()
    if not deleted:
        raise NotFound("This card has no such contact.", field="identity_id", code="IDENTITY_NOT_FOUND")
