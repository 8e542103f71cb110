"""Builders shared by the inbox tests: channels through the channel actions, conversations through
real inbound messages (customers.do_resolve_identity → conversations.do_receive_message)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from omnia.channels import actions as channels_actions
from omnia.channels.models import Channel
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Message
from omnia.core import clock
from omnia.customers import actions as customers_actions
from omnia.customers.models import Customer

_seq = itertools.count(1)

CREDENTIALS: dict[str, dict[str, str]] = {
    "telegram": {"bot_token": "123456:bot-token-secret", "secret_token": "tg-secret-token"},
    "whatsapp": {"access_token": "wa-access-secret", "app_secret": "wa-app-secret", "verify_token": "wa-verify"},
    "instagram": {"access_token": "ig-access-secret", "app_secret": "ig-app-secret", "verify_token": "ig-verify"},
}
CONFIG: dict[str, dict[str, str]] = {"whatsapp": {"phone_number_id": "1098765"}}
SECRETS = tuple(value for credentials in CREDENTIALS.values() for value in credentials.values())


def make_channel(provider: str = "telegram", **extra: Any) -> Channel:
    fields: dict[str, Any] = {
        "name": f"{provider} {next(_seq)}",
        "credentials": CREDENTIALS.get(provider, {}),
        "config": CONFIG.get(provider, {}),
        **extra,
    }
    return channels_actions.check_create_channel(actor=None, provider=provider, **fields)


def make_customer(*, kind: str = "telegram", value: str | None = None, name: str = "Айгерим Сейткали") -> Customer:
    value = value or (f"+7701{next(_seq):07d}" if kind == "whatsapp" else str(700000 + next(_seq)))
    return customers_actions.do_resolve_identity(kind=kind, value=value, channel=kind, display_name=name).customer


def receive(
    channel: Channel,
    customer: Customer,
    *,
    text: str = "Здравствуйте, гирлянда есть?",
    sent_at: dt.datetime | None = None,
) -> Message:
    """The customer writes through `channel`: the message lands in their open conversation."""
    message = conversations_actions.do_receive_message(
        customer=customer,
        channel=channel,
        text=text,
        sent_at=sent_at or clock.now(),
        provider_message_id=f"pm-{next(_seq)}",
        external_chat_id=f"chat-{customer.pk}",
    )
    assert message is not None
    return message
