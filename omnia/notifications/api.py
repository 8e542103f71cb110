"""Notifications over REST: the log (what the shop told each customer, through which channel, with every
try), a deliberate resend, and the shop's rules.

The log is read with the customers section (`customers:read`); a resend needs an owner or a manager
(`customers:write`); the rules are settings (`settings:read` / `settings:write`).

Bad input answers 422 naming the field with a stable code: EVENT_UNKNOWN, STATUS_UNKNOWN,
CHANNEL_KIND_UNKNOWN / CHANNEL_KIND_REPEATED (`fallback_chain[i]`), MINUTES_OUT_OF_RANGE; an unknown id
404 NOTIFICATION_NOT_FOUND; resending one still being sent 409 NOTIFICATION_OPEN.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from omnia.core.errors import PermissionDenied, ValidationFailed
from omnia.core.pagination import Page, paginate
from omnia.core.permissions import Role, Section, actor_of, authorize
from omnia.notifications import actions, queries
from omnia.notifications.models import Event, Notification
from omnia.notifications.schemas import NotificationDetailOut, NotificationOut, SettingsIn, SettingsOut

HOW = """
An event (an order confirmed, ready for pick-up, shipped, delivered; a payment; a parcel at its pick-up
point or late; a variant back in stock; an unread web-chat reply) raises one notification per `key`.
It is written in the customer's language and sent through their preferred channel, else the next kind
of `fallback_chain` (then any other that reaches them) that has their handle, an active channel, and
their consent (service messages unless withdrawn; marketing only if given). WhatsApp outside the
customer's 24 hours takes only the approved template named in the event's template. Each try is an
attempt; a failure, or no delivery report within `undelivered_minutes` from a channel that reports
delivery, passes to the next kind. During quiet hours it waits (`due_at`). Orders from Kaspi.kz or
Satu.kz and anonymous counter sales raise none: the marketplace tells its buyers.
"""

router = Router(tags=["notifications"])
RESENDERS = frozenset({Role.OWNER, Role.MANAGER})


@router.get("/notifications/settings", response=SettingsOut, summary="The shop's notification rules")
def get_settings(request: HttpRequest) -> SettingsOut:
    authorize(actor_of(request), Section.SETTINGS)
    return SettingsOut.of(queries.get_settings())


@router.put("/notifications/settings", response=SettingsOut, summary="Change the notification rules")
def put_settings(request: HttpRequest, payload: SettingsIn) -> SettingsOut:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    actions.check_save_settings(
        actor=actor_of(request),
        fallback_chain=payload.fallback_chain,
        quiet_start=payload.quiet_start,
        quiet_end=payload.quiet_end,
        undelivered_minutes=payload.undelivered_minutes,
        reply_waiting_minutes=payload.reply_waiting_minutes,
        disabled_events=payload.disabled_events,
    )
    return SettingsOut.of(queries.get_settings())


@router.get(
    "/notifications",
    response=Page[NotificationOut],
    summary="The notification log, newest first",
    description=HOW,
)
def list_notifications(
    request: HttpRequest,
    customer: int | None = None,
    order: int | None = None,
    event: str = "",
    status: str = "",
    cursor: str | None = None,
    limit: int = Query(50),
) -> dict[str, object]:
    authorize(actor_of(request), Section.CUSTOMERS)
    if event and event not in Event.values:
        raise ValidationFailed(f"Events: {', '.join(Event.values)}.", field="event", code="EVENT_UNKNOWN")
    if status and status not in Notification.Status.values:
        raise ValidationFailed(
            f"Statuses: {', '.join(Notification.Status.values)}.", field="status", code="STATUS_UNKNOWN"
        )
    filters = queries.NotificationFilters(customer_id=customer, order_id=order, event=event, status=status)
    return paginate(queries.list_notifications(filters), cursor=cursor, limit=limit, serialize=NotificationOut.of)


@router.get(
    "/notifications/{notification_id}",
    response=NotificationDetailOut,
    summary="A notification with every try: channel, status, error, message, text",
)
def get_notification(request: HttpRequest, notification_id: int) -> NotificationDetailOut:
    authorize(actor_of(request), Section.CUSTOMERS)
    return NotificationDetailOut.of(queries.get_notification(notification_id))


@router.post(
    "/notifications/{notification_id}/resend",
    response={201: NotificationDetailOut},
    summary="Send it again, on purpose: a new notification (key + ':resend:n'), every channel open again",
)
def resend(request: HttpRequest, notification_id: int) -> Status[NotificationDetailOut]:
    actor = actor_of(request)
    authorize(actor, Section.CUSTOMERS, write=True)
    if getattr(actor, "role", "") not in RESENDERS:
        raise PermissionDenied("Only an owner or a manager may send a notification again.", code="ROLE_FORBIDDEN")
    again = actions.check_resend(actor=actor, notification=queries.get_notification(notification_id))
    return Status(201, NotificationDetailOut.of(queries.get_notification(again.pk)))
