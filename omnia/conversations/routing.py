"""Who takes a new conversation: operator presence and capacity, round-robin assignment, and the
SLA records analytics reads (opened, first response, first-response breaches).

Assignment: among ONLINE, active owners/managers/operators whose teams include the conversation's
team (anyone online when it has no team) and who hold fewer OPEN conversations than their
`max_concurrent`, the one assigned least recently (never assigned first, ties by user id) takes it.
Nobody free: it stays unassigned in its team's queue.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q

from omnia.conversations import actions
from omnia.conversations.models import Conversation, ConversationEvent, Message, OperatorStatus
from omnia.core import clock
from omnia.core.errors import ValidationFailed

MAX_CAPACITY = 100
MAX_TEAMS = 20


# --- presence and capacity ----------------------------------------------------------------------


def _status_of(user: Any) -> OperatorStatus:
    status, _ = OperatorStatus.objects.select_for_update().get_or_create(
        user=user, defaults={"updated_at": clock.now()}
    )
    return status


@transaction.atomic
def do_set_presence(*, user: Any, status: str) -> OperatorStatus:
    """Online (takes new conversations), away or offline (does not)."""
    if status not in OperatorStatus.Presence.values:
        raise ValidationFailed(f"Unknown presence {status!r}.", field="status", code="PRESENCE_INVALID")
    operator = _status_of(user)
    operator.status, operator.updated_at = status, clock.now()
    operator.save(update_fields=["status", "updated_at"])
    return operator


@transaction.atomic
def do_set_capacity(*, user: Any, max_concurrent: int, teams: list[str] | None = None) -> OperatorStatus:
    """How many open conversations routing gives the person at once (0–100) and, when `teams` is
    given, the teams they take conversations from (trimmed, unique)."""
    if not 0 <= max_concurrent <= MAX_CAPACITY:
        raise ValidationFailed(
            f"Capacity is between 0 and {MAX_CAPACITY} conversations.", field="max_concurrent", code="CAPACITY_INVALID"
        )
    operator = _status_of(user)
    operator.max_concurrent, operator.updated_at = max_concurrent, clock.now()
    fields = ["max_concurrent", "updated_at"]
    if teams is not None:
        cleaned = sorted({team.strip()[: actions.MAX_TEAM_LENGTH] for team in teams if team.strip()})
        if len(cleaned) > MAX_TEAMS:
            raise ValidationFailed(f"At most {MAX_TEAMS} teams.", field="teams", code="TEAMS_INVALID")
        operator.teams = cleaned
        fields.append("teams")
    operator.save(update_fields=fields)
    return operator


# --- assignment -----------------------------------------------------------------------------------


def _candidates() -> list[OperatorStatus]:
    """Online people who may take conversations, least recently assigned first, with their load.

    The rows are locked so two conversations opened at once do not both see the same free slot."""
    open_here = Q(user__conversations__status=Conversation.Status.OPEN)
    locked = OperatorStatus.objects.select_for_update(of=("self",)).filter(
        status=OperatorStatus.Presence.ONLINE,
        user__is_active=True,
        user__role__in=actions.ASSIGNABLE_ROLES,
    )
    list(locked.values_list("pk", flat=True))  # FOR UPDATE cannot be combined with GROUP BY on PostgreSQL
    return list(
        OperatorStatus.objects.filter(pk__in=locked.values("pk"))
        .select_related("user")
        .annotate(load=Count("user__conversations", filter=open_here))
        .order_by(F("last_assigned_at").asc(nulls_first=True), "user_id")
    )


@transaction.atomic
def assign_next(*, conversation: Conversation) -> Any | None:
    """Give an open, unassigned conversation to the next free person (see the module docstring);
    returns that user, or None when it already had someone, is not open, or nobody is free."""
    fresh = Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
    if fresh is None or fresh.assignee_id is not None or fresh.status != Conversation.Status.OPEN:
        return None
    for operator in _candidates():
        if fresh.team and fresh.team not in (operator.teams or []):
            continue
        if operator.load >= operator.max_concurrent:  # type: ignore[attr-defined]
            continue
        actions.check_assign(actor=None, conversation=conversation, assignee=operator.user, team=fresh.team)
        OperatorStatus.objects.filter(pk=operator.pk).update(last_assigned_at=clock.now())
        return operator.user
    return None


# --- SLA records ------------------------------------------------------------------------------


def do_record_opened(*, message_id: int) -> ConversationEvent | None:
    """`opened` when this inbound message is the first of its conversation (once per conversation)."""
    message = Message.objects.filter(pk=message_id).only("conversation_id", "created_at").first()
    if message is None or Message.objects.filter(conversation_id=message.conversation_id).count() != 1:
        return None
    try:
        with transaction.atomic():
            return ConversationEvent.objects.create(
                conversation_id=message.conversation_id,
                kind=ConversationEvent.Kind.OPENED,
                at=message.created_at,
                data={"message_id": message.pk},
            )
    except IntegrityError:  # recorded before (the event was delivered twice)
        return None


@transaction.atomic
def do_record_first_response(*, message_id: int) -> ConversationEvent | None:
    """`first_response` when this queued reply is the one that stamped the conversation's first
    response (so again after a resolved conversation is reopened); once per reply."""
    message = (
        Message.objects.select_related("conversation")
        .filter(pk=message_id, direction=Message.Direction.OUT, kind=Message.Kind.TEXT)
        .first()
    )
    if message is None or message.conversation.first_response_at != message.created_at:
        return None
    event, _ = ConversationEvent.objects.get_or_create(
        conversation_id=message.conversation_id,
        kind=ConversationEvent.Kind.FIRST_RESPONSE,
        at=message.created_at,
        defaults={"actor_id": message.author_id, "data": {"message_id": message.pk}},
    )
    return event


def do_record_status_change(
    *, conversation_id: int, old: str, new: str, actor_id: int | None
) -> ConversationEvent | None:
    """`resolved` when a conversation is resolved, `reopened` when a resolved one opens again."""
    if new == Conversation.Status.RESOLVED:
        kind = ConversationEvent.Kind.RESOLVED
    elif old == Conversation.Status.RESOLVED:
        kind = ConversationEvent.Kind.REOPENED
    else:
        return None
    if not Conversation.objects.filter(pk=conversation_id).exists():
        return None
    return ConversationEvent.objects.create(
        conversation_id=conversation_id, kind=kind, at=clock.now(), actor_id=actor_id, data={"from": old, "to": new}
    )


@transaction.atomic
def record_sla_breaches(*, now: dt.datetime) -> int:
    """Record `sla_breached` for every open conversation whose first response is overdue at `now`;
    once per first-response target (a reopened conversation may breach again). Returns how many."""
    already = ConversationEvent.objects.filter(
        conversation=OuterRef("pk"),
        kind=ConversationEvent.Kind.SLA_BREACHED,
        at__gte=OuterRef("first_response_due"),
    )
    overdue = list(
        Conversation.objects.select_for_update(skip_locked=True)
        .filter(
            status=Conversation.Status.OPEN,
            first_response_due__lt=now,
            first_response_at__isnull=True,
        )
        .exclude(Exists(already))
        .order_by("pk")
        .values_list("pk", "first_response_due")
    )
    ConversationEvent.objects.bulk_create(
        ConversationEvent(
            conversation_id=pk,
            kind=ConversationEvent.Kind.SLA_BREACHED,
            at=now,
            data={"due": due.isoformat() if due else None},
        )
        for pk, due in overdue
    )
    return len(overdue)
