"""The e-mail connector (channels.md §6): replies over SMTP; mail comes in by polling (imap.py), not webhooks.

Credentials: {"username", "password"}; config: {"address", "imap_host", "imap_port", "smtp_host",
"smtp_port"} and the optional settings account.py lists. The channel is threaded: a reply joins
the conversation of the message it references, any other letter starts a new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from omnia.channels.base import BadPayload, ChannelCapabilities, InboundEvent, OutboundMessage, SendResult
from omnia.channels.email import smtp
from omnia.channels.email.account import MailboxSettingsInvalid, mailbox_from


class EmailConnector:
    provider = "email"
    webhooks = False  # the webhook view answers 404 WEBHOOK_NOT_SUPPORTED
    # No reply window. Mail providers throttle bursts (Gmail, Yandex, Mail.ru: a few per second at
    # most for one mailbox): 2 per second keeps a busy inbox well inside that.
    capabilities = ChannelCapabilities(
        reply_window=None,
        threaded=True,
        max_text_length=100_000,
        messages_per_second=2.0,
        delivery_receipts=False,
        read_receipts=False,
    )

    def verify(self, *, credentials: Mapping[str, Any], headers: Mapping[str, str], body: bytes) -> None:
        return None  # nothing to verify: parse refuses every body

    def parse(self, *, body: bytes, config: Mapping[str, Any]) -> list[InboundEvent]:
        raise BadPayload(_("E-mail channels take no webhooks: mail is fetched from the mailbox over IMAP."))

    def handshake(self, *, credentials: Mapping[str, Any], query: Mapping[str, str]) -> str | None:
        return None

    def send(
        self, *, credentials: Mapping[str, Any], config: Mapping[str, Any], message: OutboundMessage
    ) -> SendResult:
        if message.attachments or message.template:
            return SendResult(error=_("The e-mail channel sends text only."))
        try:
            mailbox = mailbox_from(credentials, config)
        except MailboxSettingsInvalid as exc:
            return SendResult(error=str(exc))
        return smtp.send(mailbox, message)
