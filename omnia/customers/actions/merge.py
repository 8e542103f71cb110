"""Merging two cards of one person, and undoing a merge exactly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Model

from omnia.core import clock
from omnia.core.audit import do_record_audit
from omnia.customers.actions.profile import reindex_customers
from omnia.customers.actions.timeline import do_record_timeline
from omnia.customers.errors import MergeNotAllowed
from omnia.customers.models import Address, Consent, Customer, Identity, Merge, TimelineEntry
from omnia.customers.registry import customer_references

# Card fields the survivor takes from the absorbed card when its own are empty.
FILLED_FIELDS = (
    "first_name",
    "last_name",
    "language",
    "city",
    "birthday",
    "loyalty_card",
    "preferred_channel",
    "quiet_hours_start",
    "quiet_hours_end",
)
STAT_FIELDS = ("orders_count", "lifetime_value", "last_order_at", "last_contact_at", "do_not_call", "notes")
_OWN_ROWS: list[tuple[type[Any], str]] = [
    (Identity, "customer"),
    (Address, "customer"),
    (Consent, "customer"),
    (TimelineEntry, "customer"),
]


def _key(model: type[Any], field: str) -> str:
    return f"{model._meta.label_lower}.{field}"


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Field values as JSON that restores exactly (DjangoJSONEncoder would cut microseconds)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dt.date | dt.time):
            out[name] = value.isoformat()
        elif isinstance(value, Decimal):
            out[name] = str(value)
        else:
            out[name] = value
    return out


def _in_force(customer_id: int) -> dict[tuple[str, str], bool]:
    state: dict[tuple[str, str], bool] = {}
    for consent in Consent.objects.filter(customer_id=customer_id).order_by("at", "id"):
        state[(consent.channel, consent.purpose)] = consent.granted
    return state


def _locked(*ids: int) -> dict[int, Customer]:
    rows = Customer.objects.select_for_update().filter(pk__in=ids)
    return {c.pk: c for c in rows}


@transaction.atomic
def check_merge(*, actor: Any, survivor: Customer, absorbed: Customer) -> Merge:
    """Move everything of `absorbed` to `survivor`; nothing is deleted and the Merge records what moved."""
    if survivor.pk == absorbed.pk:
        raise MergeNotAllowed("A card cannot be merged with itself.", field="other_id")
    cards = _locked(survivor.pk, absorbed.pk)
    survivor, absorbed = cards[survivor.pk], cards[absorbed.pk]
    for card, field in ((survivor, "id"), (absorbed, "other_id")):
        if card.merged_into_id is not None:
            raise MergeNotAllowed(f"Card #{card.pk} was already merged into #{card.merged_into_id}.", field=field)

    now = clock.now()
    stricter = _in_force(survivor.pk), _in_force(absorbed.pk)
    moved: dict[str, list[int]] = {}
    for model, field in [*_OWN_ROWS, *customer_references()]:
        ids = list(model.objects.filter(**{field: absorbed.pk}).values_list("pk", flat=True))
        if ids:
            model.objects.filter(pk__in=ids).update(**{field: survivor.pk})
            moved[_key(model, field)] = ids

    through = Customer.tags.through
    new_tags = list(absorbed.tags.exclude(pk__in=survivor.tags.values("pk")).values_list("pk", flat=True))
    created: dict[str, list[int]] = {}
    if new_tags:
        rows = through.objects.bulk_create([through(customer_id=survivor.pk, tag_id=t) for t in new_tags])
        created[through._meta.label_lower] = [r.pk for r in rows]

    # The stricter consent wins: anything withdrawn on either card stays withdrawn on the survivor.
    merged_state = _in_force(survivor.pk)
    consent_ids = []
    for key in sorted(set(stricter[0]) | set(stricter[1])):
        withdrawn = stricter[0].get(key) is False or stricter[1].get(key) is False
        if withdrawn and merged_state.get(key) is not False:
            consent = Consent.objects.create(
                customer=survivor,
                channel=key[0],
                purpose=key[1],
                granted=False,
                at=now,
                source="merge",
                method=f"kept from card #{absorbed.pk if stricter[1].get(key) is False else survivor.pk}",
                actor=getattr(actor, "audit_user", None),
            )
            consent_ids.append(consent.pk)
    if consent_ids:
        created[Consent._meta.label_lower] = consent_ids

    before = {name: getattr(survivor, name) for name in (*FILLED_FIELDS, *STAT_FIELDS)}
    for name in FILLED_FIELDS:
        if getattr(survivor, name) in ("", None) and getattr(absorbed, name) not in ("", None):
            setattr(survivor, name, getattr(absorbed, name))
    survivor.orders_count += absorbed.orders_count
    survivor.lifetime_value = Decimal(survivor.lifetime_value) + Decimal(absorbed.lifetime_value)
    survivor.last_order_at = max(filter(None, [survivor.last_order_at, absorbed.last_order_at]), default=None)
    survivor.last_contact_at = max(filter(None, [survivor.last_contact_at, absorbed.last_contact_at]), default=None)
    survivor.do_not_call = survivor.do_not_call or absorbed.do_not_call
    if absorbed.notes and absorbed.notes not in survivor.notes:
        survivor.notes = f"{survivor.notes}\n\n{absorbed.notes}".strip()
    survivor_before = {name: value for name, value in before.items() if getattr(survivor, name) != value}
    survivor.updated_at = now
    survivor.save()
    absorbed.merged_into = survivor
    absorbed.updated_at = now
    absorbed.save(update_fields=["merged_into", "updated_at"])
    reindex_customers([survivor, absorbed])  # the absorbed card is no longer found by name

    merge = Merge.objects.create(
        survivor=survivor,
        absorbed=absorbed,
        at=now,
        actor=getattr(actor, "audit_user", None),
        moved=moved,
        created=created,
        survivor_before=_jsonable(survivor_before),
    )
    entry = do_record_timeline(
        customer=survivor,
        kind=TimelineEntry.Kind.MERGE,
        at=now,
        ref=merge,
        actor=actor,
        summary=f"Merged card #{absorbed.pk} ({absorbed.full_name or '—'}) into this one",
        data={"absorbed_id": absorbed.pk, "absorbed_name": absorbed.full_name},
    )
    merge.created = {**created, TimelineEntry._meta.label_lower: [entry.pk]}
    merge.save(update_fields=["created"])
    do_record_audit(
        actor=actor,
        action="customer.merged",
        target=survivor,
        changes={"absorbed": absorbed.pk, "merge": merge.pk, "moved": {k: len(v) for k, v in moved.items()}},
    )
    return merge


def _restore(customer: Customer, values: dict[str, Any]) -> None:
    fields = {f.name: f for f in Customer._meta.concrete_fields}
    for name, raw in values.items():
        setattr(customer, name, fields[name].to_python(raw))


@transaction.atomic
def check_undo_merge(*, actor: Any, merge: Merge) -> Merge:
    """Put both cards back exactly as they were before `merge`; refused if already undone or merged since."""
    merge = Merge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise MergeNotAllowed("This merge was already undone.", field="merge_id", code="MERGE_ALREADY_UNDONE")
    cards = _locked(merge.survivor_id, merge.absorbed_id)
    survivor, absorbed = cards[merge.survivor_id], cards[merge.absorbed_id]
    if survivor.merged_into_id is not None:
        raise MergeNotAllowed(
            f"Card #{survivor.pk} was merged into #{survivor.merged_into_id} since: undo that first.",
            field="merge_id",
            code="MERGE_UNDO_ORDER",
        )

    references = {_key(model, field): (model, field) for model, field in [*_OWN_ROWS, *customer_references()]}
    for key, ids in merge.moved.items():
        model, field = references[key]
        model.objects.filter(pk__in=ids, **{field: survivor.pk}).update(**{field: absorbed.pk})
    labels: dict[str, type[Model]] = {
        Customer.tags.through._meta.label_lower: Customer.tags.through,
        Consent._meta.label_lower: Consent,
        TimelineEntry._meta.label_lower: TimelineEntry,
    }
    for label, ids in merge.created.items():
        labels[label]._default_manager.filter(pk__in=ids).delete()

    _restore(survivor, merge.survivor_before)
    survivor.updated_at = clock.now()
    survivor.save()
    absorbed.merged_into = None
    absorbed.save(update_fields=["merged_into"])
    reindex_customers([survivor, absorbed])

    merge.undone_at = clock.now()
    merge.undone_by = getattr(actor, "audit_user", None)
    merge.save(update_fields=["undone_at", "undone_by"])
    do_record_audit(
        actor=actor,
        action="customer.merge_undone",
        target=survivor,
        changes={"absorbed": absorbed.pk, "merge": merge.pk},
    )
    return merge
