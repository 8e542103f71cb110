"""Reads for notifications: the shop's rules, quiet hours, where a customer can be reached, the log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from omnia.channels.models import Channel, Provider
from omnia.conversations import queries as conversations_queries
from omnia.conversations.models import Conversation
from omnia.core import clock
from omnia.core.errors import NotFound
from omnia.customers import queries as customers_queries
from omnia.customers.models import Customer
from omnia.notifications.models import Attempt, Notification, Settings

# Kinds a notification may go through that the chain does not name are tried after it, in this order.
# The web chat is left out: a visitor who closed the page cannot be reached there.
OTHER_KINDS: tuple[str, ...] = ("whatsapp", "telegram", "sms", "email", "viber", "vk", "instagram")
CHAIN_KINDS: tuple[str, ...] = tuple(Provider.values)


def get_settings() -> Settings:
    """The shop's notification rules; the defaults (unsaved) until someone saves them."""
    found = Settings.objects.select_related("updated_by").order_by("id").first()
    return found if found is not None else Settings(updated_at=clock.now())


def shop_language() -> str:
    return str(django_settings.LANGUAGE_CODE).split("-")[0]


def language_of(customer: Customer) -> str:
    """The language a customer is written to in: theirs, else the shop's."""
    return customer.language or shop_language()


def _quiet_window(customer: Customer, rules: Settings) -> tuple[dt.time, dt.time]:
    if customer.quiet_hours_start is not None and customer.quiet_hours_end is not None:
        return customer.quiet_hours_start, customer.quiet_hours_end
    return rules.quiet_start, rules.quiet_end


def quiet_until(customer: Customer, *, at: dt.datetime, rules: Settings) -> dt.datetime | None:
    """When the quiet hours around `at` end (in the shop's time zone), or None when `at` is not in them.

    The customer's own hours win over the shop's; a window may cross midnight (21:00–09:00)."""
    start, end = _quiet_window(customer, rules)
    if start == end:
        return None
    zone = timezone.get_default_timezone()
    local = timezone.localtime(at, zone)
    now = local.time()
    if start < end:
        inside, ends_on = start <= now < end, local.date()
    elif now >= start:
        inside, ends_on = True, local.date() + dt.timedelta(days=1)
    else:
        inside, ends_on = now < end, local.date()
    if not inside:
        return None
    return dt.datetime.combine(ends_on, end, tzinfo=zone).astimezone(dt.UTC)


def due_at(customer: Customer, *, at: dt.datetime, rules: Settings) -> dt.datetime:
    """The earliest moment from `at` a notification may go out."""
    return quiet_until(customer, at=at, rules=rules) or at


# --- where a customer can be reached -------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """A channel a notification may go through now, and where to (chat id, phone, address)."""

    kind: str
    channel: Channel
    to: str


def kind_order(customer: Customer, rules: Settings, *, exclude: tuple[str, ...] = ()) -> list[str]:
    """The channel kinds to try, in order: the customer's preference, the shop's chain, then the rest."""
    order: list[str] = []
    for kind in (customer.preferred_channel, *rules.fallback_chain, *OTHER_KINDS):
        if kind and kind not in order and kind not in exclude:
            order.append(kind)
    return order


def handles_of(customer: Customer) -> dict[str, str]:
    """The customer's newest handle per identity kind."""
    handles: dict[str, str] = {}
    for kind, value in customer.identities.order_by("-last_seen_at", "-id").values_list("kind", "value"):
        handles.setdefault(kind, value)
    return handles


def handle_for(kind: str, handles: dict[str, str]) -> str:
    """The handle a channel of this provider reaches (WhatsApp reaches a phone), or ''."""
    reachable = conversations_queries.REACHABLE_KINDS.get(kind, ())
    return next((handles[k] for k in reachable if k in handles), "")


def active_providers() -> set[str]:
    """The providers that have an active channel."""
    return set(Channel.objects.filter(is_active=True).values_list("provider", flat=True).distinct())


def channel_for(customer: Customer, kind: str) -> tuple[Channel | None, str]:
    """The active channel of this provider to write through — the one of the customer's latest
    conversation there if still active, else the first connected — and that conversation's thread."""
    latest = (
        Conversation.objects.filter(customer=customer, channel__provider=kind, channel__is_active=True)
        .select_related("channel")
        .order_by("-last_message_at", "-id")
        .first()
    )
    if latest is not None:
        return latest.channel, latest.external_thread_id
    return Channel.objects.filter(provider=kind, is_active=True).order_by("id").first(), ""


def may_send(customer: Customer, *, kind: str, purpose: str) -> bool:
    """Consent: service messages unless withdrawn, marketing only if granted (the latest record wins)."""
    return customers_queries.may_contact(customer, channel=kind, purpose=purpose)


def window_open(customer: Customer, *, channel: Channel, window: dt.timedelta | None, at: dt.datetime) -> bool:
    """Whether free text may go through `channel` now: it has no window, or the customer wrote within it."""
    # reply_window_open reads only the conversation's customer: any conversation of theirs will do.
    return conversations_queries.reply_window_open(
        Conversation(customer=customer), window=window, at=at, channel=channel
    )


def reachable_kinds(customer: Customer, *, exclude: tuple[str, ...] = ()) -> list[str]:
    """Kinds with an active channel that reaches one of the customer's handles (consent aside)."""
    handles = handles_of(customer)
    active = set(Channel.objects.filter(is_active=True).values_list("provider", flat=True))
    return [kind for kind in active if kind not in exclude and handle_for(kind, handles)]


# --- the log -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationFilters:
    customer_id: int | None = None
    order_id: int | None = None
    event: str = ""
    status: str = ""


def list_notifications(filters: NotificationFilters | None = None) -> QuerySet[Notification]:
    """Newest first, with their attempts (and each attempt's channel and message)."""
    f = filters or NotificationFilters()
    qs = Notification.objects.select_related("customer", "order").prefetch_related(
        Prefetch("attempts", queryset=Attempt.objects.select_related("channel", "message").order_by("created_at", "id"))
    )
    if f.customer_id:
        qs = qs.filter(customer_id=f.customer_id)
    if f.order_id:
        qs = qs.filter(order_id=f.order_id)
    if f.event:
        qs = qs.filter(event=f.event)
    if f.status:
        qs = qs.filter(status=f.status)
    return qs.order_by("-created_at", "-id")


def get_notification(notification_id: int, *, field: str = "notification_id") -> Notification:
    found = list_notifications().filter(pk=notification_id).first()
    if found is None:
        raise NotFound(f"No notification #{notification_id}.", field=field, code="NOTIFICATION_NOT_FOUND")
    return found


def for_order(order_id: int, *, limit: int = 50) -> list[Notification]:
    return list(list_notifications(NotificationFilters(order_id=order_id))[:limit])


def for_customer(customer_id: int, *, limit: int = 50) -> list[Notification]:
    return list(list_notifications(NotificationFilters(customer_id=customer_id))[:limit])


def summary(notification: Notification) -> dict[str, Any]:
    """What the log shows of a notification's last try (the text, through which channel)."""
    attempts = list(notification.attempts.all())
    last = attempts[-1] if attempts else None
    return {"text": last.text if last else "", "attempts": attempts}
