"""Input and output shapes of the customers API (Customer 360)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from ninja import Schema
from pydantic import Field

from omnia.customers import queries
from omnia.customers.models import Address, Consent, Customer, Identity, Merge, TimelineEntry


def _money(value: Decimal | int | str) -> str:
    """A Decimal amount as a string with two places ('0.00'), whatever the database returned."""
    return f"{Decimal(value):.2f}"


# --- outputs ----------------------------------------------------------------------------------


class IdentityOut(Schema):
    id: int
    kind: str
    value: str = Field(description="Normalised: phones in E.164, e-mails lower-case")
    raw: str = Field(description="As received or typed")
    verified: bool

    @staticmethod
    def of(i: Identity) -> IdentityOut:
        return IdentityOut(id=i.pk, kind=i.kind, value=i.value, raw=i.raw_value, verified=i.verified)


class CustomerSummaryOut(Schema):
    """Enough of a card to recognise it in a list of suggestions."""

    id: int
    name: str
    city: str
    orders_count: int
    last_contact_at: dt.datetime | None
    identities: list[IdentityOut]

    @staticmethod
    def of(c: Customer) -> CustomerSummaryOut:
        return CustomerSummaryOut(
            id=c.pk,
            name=c.full_name,
            city=c.city,
            orders_count=c.orders_count,
            last_contact_at=c.last_contact_at,
            identities=[IdentityOut.of(i) for i in c.identities.all()],
        )


class CustomerOut(Schema):
    """A customer as listed (identities and tags come prefetched by the list query)."""

    id: int
    name: str
    first_name: str
    last_name: str
    city: str
    language: str
    tags: list[str]
    loyalty_card: str
    orders_count: int
    lifetime_value: str = Field(description="Decimal as a string, e.g. '12990.00'")
    currency: str
    last_contact_at: dt.datetime | None
    created_at: dt.datetime
    created_source: str
    identities: list[IdentityOut]

    @staticmethod
    def of(c: Customer) -> CustomerOut:
        return CustomerOut(**_customer_fields(c))


def _customer_fields(c: Customer) -> dict[str, Any]:
    return {
        "id": c.pk,
        "name": c.full_name,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "city": c.city,
        "language": c.language,
        "tags": [t.name for t in c.tags.all()],
        "loyalty_card": c.loyalty_card,
        "orders_count": c.orders_count,
        "lifetime_value": _money(c.lifetime_value),
        "currency": str(settings.OMNIA_CURRENCY),
        "last_contact_at": c.last_contact_at,
        "created_at": c.created_at,
        "created_source": c.created_source,
        "identities": [IdentityOut.of(i) for i in c.identities.all()],
    }


class AddressOut(Schema):
    id: int
    label: str
    city: str
    line: str
    apartment: str
    postal_code: str
    comment: str
    is_default: bool
    created_at: dt.datetime

    @staticmethod
    def of(a: Address) -> AddressOut:
        return AddressOut(
            id=a.pk,
            label=a.label,
            city=a.city,
            line=a.line,
            apartment=a.apartment,
            postal_code=a.postal_code,
            comment=a.comment,
            is_default=a.is_default,
            created_at=a.created_at,
        )


class ConsentOut(Schema):
    id: int
    channel: str = Field(description="A channel kind, or 'any' for every channel")
    purpose: str
    granted: bool
    at: dt.datetime
    source: str
    method: str
    note: str

    @staticmethod
    def of(c: Consent) -> ConsentOut:
        return ConsentOut(
            id=c.pk,
            channel=c.channel,
            purpose=c.purpose,
            granted=c.granted,
            at=c.at,
            source=c.source,
            method=c.method,
            note=c.note,
        )


class ConsentsOut(Schema):
    in_force: list[ConsentOut] = Field(description="The latest record per (channel, purpose)")
    history: list[ConsentOut] = Field(description="Every record, newest first")

    @staticmethod
    def of(customer: Customer) -> ConsentsOut:
        return ConsentsOut(
            in_force=[ConsentOut.of(c) for c in queries.consents_in_force(customer)],
            history=[ConsentOut.of(c) for c in customer.consents.order_by("-at", "-id")],
        )


class PreferencesOut(Schema):
    preferred_channel: str | None
    do_not_call: bool
    quiet_hours_start: dt.time | None
    quiet_hours_end: dt.time | None
    language: str | None


class CustomerCardOut(CustomerOut):
    """The whole card. A merged card answers its own data with `merged_into` set: follow it."""

    birthday: dt.date | None
    notes: str
    addresses: list[AddressOut]
    consents: list[ConsentOut] = Field(description="Consents in force")
    preferences: PreferencesOut
    merged_into: int | None = Field(description="Id of the card this one was merged into; null if none")

    @staticmethod
    def of(c: Customer) -> CustomerCardOut:
        return CustomerCardOut(
            **_customer_fields(c),
            birthday=c.birthday,
            notes=c.notes,
            addresses=[AddressOut.of(a) for a in c.addresses.all()],
            consents=[ConsentOut.of(x) for x in queries.consents_in_force(c)],
            preferences=PreferencesOut(
                preferred_channel=c.preferred_channel or None,
                do_not_call=c.do_not_call,
                quiet_hours_start=c.quiet_hours_start,
                quiet_hours_end=c.quiet_hours_end,
                language=c.language or None,
            ),
            merged_into=c.merged_into_id,
        )


class RefOut(Schema):
    type: str = Field(description="app_label.model of the linked object, e.g. 'orders.order'")
    id: str


class TimelineEntryOut(Schema):
    id: int
    at: dt.datetime
    kind: str
    channel: str
    summary: str
    ref: RefOut | None

    @staticmethod
    def of(e: TimelineEntry) -> TimelineEntryOut:
        return TimelineEntryOut(
            id=e.pk,
            at=e.at,
            kind=e.kind,
            channel=e.channel,
            summary=e.summary,
            ref=RefOut(type=e.ref_type, id=e.ref_id) if e.ref_type else None,
        )


class MergedOut(CustomerCardOut):
    """The surviving card after a merge, with the id to undo it by."""

    merge_id: int

    @staticmethod
    def of_merge(merge: Merge, survivor: Customer) -> MergedOut:
        return MergedOut(**dict(CustomerCardOut.of(survivor)), merge_id=merge.pk)


class UndoneOut(Schema):
    merge_id: int
    survivor: CustomerCardOut
    absorbed: CustomerCardOut


class DuplicateOut(Schema):
    first: CustomerSummaryOut
    second: CustomerSummaryOut
    reason: str

    @staticmethod
    def of(s: queries.Suggestion) -> DuplicateOut:
        return DuplicateOut(
            first=CustomerSummaryOut.of(s.first), second=CustomerSummaryOut.of(s.second), reason=s.reason
        )


class DuplicatesOut(Schema):
    items: list[DuplicateOut] = Field(description="Pairs an operator did not dismiss, up to `limit`")


# --- inputs -----------------------------------------------------------------------------------


class IdentityIn(Schema):
    kind: Identity.Kind
    value: str = Field(description="Any common format: '8 701 123 45 67' is stored as '+77011234567'")


class CustomerFields(Schema):
    """Editable card fields; on PATCH only those sent change."""

    first_name: str = ""
    last_name: str = ""
    city: str = ""
    language: str = Field("", description="ru, kk or en")
    birthday: dt.date | None = None
    loyalty_card: str = ""
    notes: str = ""
    preferred_channel: str = Field("", description="A channel kind (phone, telegram, whatsapp…)")
    do_not_call: bool = False
    quiet_hours_start: dt.time | None = None
    quiet_hours_end: dt.time | None = None
    tags: list[str] = Field(default_factory=list, description="Replaces the card's tags")


class CustomerIn(CustomerFields):
    identities: list[IdentityIn] = Field(default_factory=list)


class CustomerPatch(CustomerFields):
    pass


class AddressIn(Schema):
    city: str
    line: str = Field(description="Street and building")
    label: str = ""
    apartment: str = ""
    postal_code: str = ""
    comment: str = ""
    is_default: bool = False


class NoteIn(Schema):
    text: str


class ConsentIn(Schema):
    channel: str = Field(description="A channel kind, or 'any' for every channel")
    purpose: str = Field(description="transactional or marketing")
    granted: bool
    source: str = Field(description="Where the customer said so: a store, a channel, a form…")
    method: str = Field(description="How: checkbox, verbal, STOP reply, link…")
    note: str = ""


class MergeIn(Schema):
    other_id: int = Field(description="The card to absorb into the one in the path")
