"""Which connector speaks for which provider: an explicit dict, no string magic."""

from __future__ import annotations

from omnia.channels.base import Connector

CONNECTORS: dict[str, Connector] = {}


def register(connector: Connector) -> None:
    CONNECTORS[connector.provider] = connector


def connector_for(provider: str) -> Connector:
    try:
        return CONNECTORS[provider]
    except KeyError:
        raise LookupError(f"no connector for {provider!r}") from None


# Connectors, one line each (imported here so the registry is explicit and complete at import time).
from omnia.channels.telegram.connector import TelegramConnector  # noqa: E402

register(TelegramConnector())
from omnia.channels.instagram.connector import InstagramConnector  # noqa: E402
from omnia.channels.whatsapp.connector import WhatsAppConnector  # noqa: E402

register(WhatsAppConnector())
register(InstagramConnector())
from omnia.channels.webchat.connector import WebchatConnector  # noqa: E402

register(WebchatConnector())
from omnia.channels.email.connector import EmailConnector  # noqa: E402

register(EmailConnector())
from omnia.channels.sms.connector import SmsConnector  # noqa: E402

register(SmsConnector())
