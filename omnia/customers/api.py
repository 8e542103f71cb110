"""Customer 360 over REST: the search box, the card, its timeline, consents, merges and duplicates.

Reads need the `customers:read` scope, writes `customers:write`. Domain errors become the common
error shape in omnia.api (CUSTOMER_NOT_FOUND → 404, IDENTITY_TAKEN / MERGE_* → 409, bad input → 422).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Status

from omnia.core.pagination import Page, paginate
from omnia.core.permissions import Section, actor_of, authorize
from omnia.customers import actions, queries
from omnia.customers.models import ChannelKind, Identity, TimelineEntry
from omnia.customers.schemas import (
    AddressIn,
    AddressOut,
    ConsentIn,
    ConsentOut,
    ConsentsOut,
    CustomerCardOut,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    DuplicateOut,
    DuplicatesOut,
    IdentityIn,
    IdentityOut,
    MergedOut,
    MergeIn,
    NoteIn,
    TimelineEntryOut,
    UndoneOut,
)

router = Router(tags=["customers"])


def _card(customer_id: int) -> CustomerCardOut:
    return CustomerCardOut.of(queries.get_customer(customer_id))


@router.get(
    "/customers",
    response=Page[CustomerOut],
    summary="Customers; `q` finds a phone in any format, an e-mail or part of a name",
    description=(
        "Items come newest card first (keyset on id, so paging is stable while cards are added). "
        "Merged cards are left out. Filters combine with AND: `channel` = has a handle of this kind, "
        "`not_contacted_since` also matches cards never contacted."
    ),
)
def list_customers(
    request: HttpRequest,
    q: str = "",
    tag: str = "",
    channel: Identity.Kind | None = None,
    city: str = "",
    has_orders: bool | None = None,
    contacted_since: dt.datetime | None = None,
    not_contacted_since: dt.datetime | None = None,
    cursor: str | None = None,
    limit: int = Query(50),
) -> dict[str, object]:
    authorize(actor_of(request), Section.CUSTOMERS)
    filters = queries.CustomerFilters(
        tag=tag,
        channel=channel or "",
        city=city,
        has_orders=has_orders,
        contacted_since=contacted_since,
        not_contacted_since=not_contacted_since,
    )
    return paginate(queries.list_customers(q, filters), cursor=cursor, limit=limit, serialize=CustomerOut.of)


# Declared before /customers/{customer_id} so "duplicates" is never read as an id.
@router.get("/customers/duplicates", response=DuplicatesOut, summary="Cards that are probably one person")
def list_duplicates(request: HttpRequest, limit: int = Query(50, ge=1, le=200)) -> DuplicatesOut:
    authorize(actor_of(request), Section.CUSTOMERS)
    return DuplicatesOut(items=[DuplicateOut.of(s) for s in queries.suggested_duplicates(limit=limit)])


@router.post("/customers", response={201: CustomerCardOut}, summary="Create a card")
def create_customer(request: HttpRequest, payload: CustomerIn) -> Status[CustomerCardOut]:
    actor = actor_of(request)
    authorize(actor, Section.CUSTOMERS, write=True)
    customer = actions.check_create_customer(
        actor=actor,
        identities=[(i.kind, i.value) for i in payload.identities],
        tags=payload.tags,
        source=ChannelKind.API,
        **payload.model_dump(exclude={"identities", "tags"}),
    )
    return Status(201, _card(customer.pk))


@router.get(
    "/customers/{customer_id}",
    response=CustomerCardOut,
    summary="The card",
    description="A merged card answers its own data with `merged_into` set: follow it to the surviving card.",
)
def get_customer(request: HttpRequest, customer_id: int) -> CustomerCardOut:
    authorize(actor_of(request), Section.CUSTOMERS)
    return _card(customer_id)


@router.patch("/customers/{customer_id}", response=CustomerCardOut, summary="Change the fields sent")
def update_customer(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> CustomerCardOut:
    actor = actor_of(request)
    authorize(actor, Section.CUSTOMERS, write=True)
    customer = queries.get_customer(customer_id)
    changes = payload.model_dump(exclude_unset=True)
    tags = changes.pop("tags", None)
    with transaction.atomic():
        actions.check_update_customer(actor=actor, customer=customer, **changes)
        if tags is not None:
            actions.do_set_tags(customer=customer, names=tags)
    return _card(customer_id)


@router.get(
    "/customers/{customer_id}/timeline",
    response=Page[TimelineEntryOut],
    summary="Every interaction, newest first",
    description="Entries are appended as they happen, so pages are keyed on id, newest first.",
)
def get_timeline(
    request: HttpRequest,
    customer_id: int,
    kind: TimelineEntry.Kind | None = None,
    channel: str = "",
    cursor: str | None = None,
    limit: int = Query(50),
) -> dict[str, object]:
    authorize(actor_of(request), Section.CUSTOMERS)
    entries = queries.timeline(queries.get_customer(customer_id), kind=kind or "", channel=channel)
    return paginate(entries, cursor=cursor, limit=limit, serialize=TimelineEntryOut.of)


@router.post(
    "/customers/{customer_id}/identities", response={201: IdentityOut}, summary="Add a phone, e-mail or handle"
)
def add_identity(request: HttpRequest, customer_id: int, payload: IdentityIn) -> Status[IdentityOut]:
    authorize(actor_of(request), Section.CUSTOMERS, write=True)
    identity = actions.check_add_identity(
        customer=queries.get_customer(customer_id), kind=payload.kind, value=payload.value, channel=ChannelKind.API
    )
    return Status(201, IdentityOut.of(identity))


@router.delete("/customers/{customer_id}/identities/{identity_id}", response={204: None})
def remove_identity(request: HttpRequest, customer_id: int, identity_id: int) -> Status[None]:
    authorize(actor_of(request), Section.CUSTOMERS, write=True)
    actions.do_remove_identity(customer=queries.get_customer(customer_id), identity_id=identity_id)
    return Status(204, None)


@router.post("/customers/{customer_id}/addresses", response={201: AddressOut})
def add_address(request: HttpRequest, customer_id: int, payload: AddressIn) -> Status[AddressOut]:
    authorize(actor_of(request), Section.CUSTOMERS, write=True)
    address = actions.check_add_address(customer=queries.get_customer(customer_id), **payload.model_dump())
    return Status(201, AddressOut.of(address))


@router.delete("/customers/{customer_id}/addresses/{address_id}", response={204: None})
def remove_address(request: HttpRequest, customer_id: int, address_id: int) -> Status[None]:
    authorize(actor_of(request), Section.CUSTOMERS, write=True)
    actions.do_remove_address(customer=queries.get_customer(customer_id), address_id=address_id)
    return Status(204, None)


@router.post("/customers/{customer_id}/notes", response={201: TimelineEntryOut}, summary="Add a note to the timeline")
def add_note(request: HttpRequest, customer_id: int, payload: NoteIn) -> Status[TimelineEntryOut]:
    actor = actor_of(request)
    authorize(actor, Section.CUSTOMERS, write=True)
    entry = actions.do_add_note(customer=queries.get_customer(customer_id), text=payload.text, actor=actor)
    return Status(201, TimelineEntryOut.of(entry))


@router.get("/customers/{customer_id}/consents", response=ConsentsOut, summary="Consents in force and their history")
def get_consents(request: HttpRequest, customer_id: int) -> ConsentsOut:
    authorize(actor_of(request), Section.CUSTOMERS)
    return ConsentsOut.of(queries.get_customer(customer_id))


@router.post(
    "/customers/{customer_id}/consents", response={201: ConsentOut}, summary="Record a consent given or withdrawn"
)
def record_consent(request: HttpRequest, customer_id: int, payload: ConsentIn) -> Status[ConsentOut]:
    actor = actor_of(request)
    authorize(actor, Section.CUSTOMERS, write=True)
    consent = actions.check_record_consent(
        customer=queries.get_customer(customer_id), actor=actor, **payload.model_dump()
    )
    return Status(201, ConsentOut.of(consent))


@router.post(
    "/customers/{customer_id}/merge",
    response=MergedOut,
    summary="Merge another card into this one",
    description="The card in the path survives and gets everything of `other_id`; undo with /merges/{merge_id}/undo.",
)
def merge_customers(request: HttpRequest, customer_id: int, payload: MergeIn) -> MergedOut:
    actor = actor_of(request)
    authorize(actor, Section.CUSTOMERS, write=True)
    survivor = queries.get_customer(customer_id)
    absorbed = queries.get_customer(payload.other_id, field="other_id")
    merge = actions.check_merge(actor=actor, survivor=survivor, absorbed=absorbed)
    return MergedOut.of_merge(merge, queries.get_customer(customer_id))


@router.post("/merges/{merge_id}/undo", response=UndoneOut, summary="Put both cards back as they were")
def undo_merge(request: HttpRequest, merge_id: int) -> UndoneOut:
    actor = actor_of(request)
    authorize(actor, Section.CUSTOMERS, write=True)
    merge = actions.check_undo_merge(actor=actor, merge=queries.get_merge(merge_id))
    return UndoneOut(merge_id=merge.pk, survivor=_card(merge.survivor_id), absorbed=_card(merge.absorbed_id))
