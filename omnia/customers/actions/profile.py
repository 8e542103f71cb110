"""Creating and editing customer cards: names, preferences, tags, addresses, notes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from omnia.core import clock
from omnia.core.config import SUPPORTED_LANGUAGES
from omnia.core.errors import NotFound, ValidationFailed
from omnia.core.text import name_search_keys
from omnia.customers.models import Address, ChannelKind, Customer, SearchToken, Tag, TimelineEntry

EDITABLE_FIELDS = (
    "first_name", "last_name", "language", "city", "birthday", "loyalty_card", "notes", "preferred_channel",
    "do_not_call", "quiet_hours_start", "quiet_hours_end",
)  # fmt: skip


def contact_day(at: dt.datetime | None) -> int:
    """SearchToken.contact_day for a last contact at `at`: its (UTC) date ordinal, 0 for never."""
    return at.astimezone(dt.UTC).date().toordinal() if at else 0


def search_tokens(customer: Customer, *, last_contact_at: dt.datetime | None = None) -> list[SearchToken]:
    """The keys the search box finds the card by; none for a card merged into another."""
    if customer.merged_into_id is not None:
        return []
    day = contact_day(last_contact_at or customer.last_contact_at)
    return [
        SearchToken(customer_id=customer.pk, token=key, contact_day=day)
        for key in name_search_keys(customer.first_name, customer.last_name)
    ]


def reindex_customers(customers: Iterable[Customer]) -> None:
    """Rebuild the search keys of these cards from their names and merged state as given (and saved)."""
    cards = list(customers)
    ids = [c.pk for c in cards]
    # The last contact as stored: a message may have moved it since these cards were loaded.
    contacts = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "last_contact_at"))
    SearchToken.objects.filter(customer_id__in=ids).delete()
    SearchToken.objects.bulk_create(
        [token for card in cards for token in search_tokens(card, last_contact_at=contacts.get(card.pk))],
        batch_size=5000,
    )


def reindex_customer(customer: Customer) -> None:
    """Rebuild the keys that the search box finds the customer by (after a name change, merge or undo)."""
    reindex_customers([customer])


def _clean(fields: dict[str, Any], current: Customer | None = None) -> dict[str, Any]:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown field {sorted(unknown)[0]!r}.", field=sorted(unknown)[0], code="FIELD_UNKNOWN")
    cleaned = dict(fields)
    for name in ("first_name", "last_name", "city", "loyalty_card"):
        if name in cleaned:
            cleaned[name] = " ".join(str(cleaned[name] or "").split())
    for name, limit in (("first_name", 120), ("last_name", 120), ("city", 100), ("loyalty_card", 40)):
        if len(cleaned.get(name, "")) > limit:
            raise ValidationFailed(f"At most {limit} characters.", field=name, code="TOO_LONG")
    if cleaned.get("language") and cleaned["language"] not in SUPPORTED_LANGUAGES:
        raise ValidationFailed("Use ru, kk or en.", field="language", code="LANGUAGE_INVALID")
    if cleaned.get("preferred_channel") and cleaned["preferred_channel"] not in ChannelKind.values:
        raise ValidationFailed("Unknown channel.", field="preferred_channel", code="CHANNEL_INVALID")
    birthday = cleaned.get("birthday")
    if birthday and (birthday > clock.today() or birthday.year < 1900):
        raise ValidationFailed("The birthday is not a real date of birth.", field="birthday", code="BIRTHDAY_INVALID")
    start = cleaned.get("quiet_hours_start", current.quiet_hours_start if current else None)
    end = cleaned.get("quiet_hours_end", current.quiet_hours_end if current else None)
    if (start is None) != (end is None) and ("quiet_hours_start" in cleaned or "quiet_hours_end" in cleaned):
        raise ValidationFailed(
            "Give both ends of the quiet hours, or neither.", field="quiet_hours_end", code="QUIET_HOURS_INVALID"
        )
    return cleaned


@transaction.atomic
def check_create_customer(
    *,
    actor: Any,
    identities: Iterable[tuple[str, str]] = (),
    tags: Iterable[str] = (),
    source: str = ChannelKind.CONSOLE,
    **fields: Any,
) -> Customer:
    """A new card with its handles [(kind, value)…]; a handle already on another card is refused (IDENTITY_TAKEN)."""
    from omnia.customers.actions.identity import check_add_identity

    cleaned = _clean(fields)
    now = clock.now()
    customer = Customer.objects.create(created_source=source, created_at=now, updated_at=now, **cleaned)
    for index, (kind, value) in enumerate(identities):
        check_add_identity(customer=customer, kind=kind, value=value, channel=source, field=f"identities.{index}")
    do_set_tags(customer=customer, names=tags)
    reindex_customer(customer)
    return customer


@transaction.atomic
def check_update_customer(*, actor: Any, customer: Customer, **fields: Any) -> Customer:
    """Change the given card fields; returns the card. Unknown or invalid fields change nothing."""
    cleaned = _clean(fields, customer)
    changed = {name: value for name, value in cleaned.items() if getattr(customer, name) != value}
    if not changed:
        return customer
    for name, value in changed.items():
        setattr(customer, name, value)
    customer.updated_at = clock.now()
    customer.save(update_fields=[*changed, "updated_at"])
    if {"first_name", "last_name"} & set(changed):
        reindex_customer(customer)
    return customer


def _tag_names(names: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for name in names:
        name = " ".join(str(name).split()).lower()[:50]
        if name and name not in cleaned:
            cleaned.append(name)
    return cleaned


@transaction.atomic
def do_set_tags(*, customer: Customer, names: Iterable[str]) -> list[str]:
    """Replace the card's tags with `names` (trimmed, lower-case); returns them sorted."""
    wanted = _tag_names(names)
    tags = [Tag.objects.get_or_create(name=name)[0] for name in wanted]
    customer.tags.set(tags)
    return sorted(wanted)


@transaction.atomic
def do_add_note(*, customer: Customer, text: str, actor: Any, at: dt.datetime | None = None) -> TimelineEntry:
    from omnia.customers.actions.timeline import do_record_timeline

    text = text.strip()
    if not text:
        raise ValidationFailed("The note is empty.", field="text", code="NOTE_EMPTY")
    return do_record_timeline(customer=customer, kind=TimelineEntry.Kind.NOTE, summary=text, actor=actor, at=at)


@transaction.atomic
def check_add_address(
    *,
    customer: Customer,
    city: str,
    line: str,
    label: str = "",
    apartment: str = "",
    postal_code: str = "",
    comment: str = "",
    is_default: bool = False,
) -> Address:
    city, line = " ".join(city.split()), " ".join(line.split())
    if not city:
        raise ValidationFailed("Give the city.", field="city", code="CITY_REQUIRED")
    if not line:
        raise ValidationFailed("Give the street and building.", field="line", code="ADDRESS_REQUIRED")
    first = not customer.addresses.exists()
    if is_default or first:
        customer.addresses.update(is_default=False)
    return Address.objects.create(
        customer=customer,
        city=city[:100],
        line=line[:300],
        label=label[:60],
        apartment=apartment[:40],
        postal_code=postal_code[:20],
        comment=comment[:300],
        is_default=is_default or first,
        created_at=clock.now(),
    )


@transaction.atomic
def do_remove_address(*, customer: Customer, address_id: int) -> None:
    deleted, _ = Address.objects.filter(pk=address_id, customer=customer).delete()
    if not deleted:
        raise NotFound("This card has no such address.", field="address_id", code="ADDRESS_NOT_FOUND")


@transaction.atomic
def check_edit_card(
    *,
    actor: Any,
    customer: Customer,
    fields: dict[str, Any],
    tags: Iterable[str] | None = None,
    new_identities: Iterable[tuple[str, str, str]] = (),
) -> Customer:
    """One edit of a card as a person makes it: fields, tags and new contacts [(kind, value, form field)].

    All or nothing: a refused contact (taken by another card, malformed) leaves the names unchanged too.
    """
    from omnia.customers.actions.identity import check_add_identity

    check_update_customer(actor=actor, customer=customer, **fields)
    if tags is not None:
        do_set_tags(customer=customer, names=tags)
    for kind, value, field in new_identities:
        check_add_identity(customer=customer, kind=kind, value=value, field=field)
    return customer
