from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from omnia.core.crypto import decrypt_json, encrypt_json


class Provider(models.TextChoices):
    WEBCHAT = "webchat", _("Web chat")
    EMAIL = "email", _("E-mail")
    TELEGRAM = "telegram", _("Telegram")
    WHATSAPP = "whatsapp", _("WhatsApp")
    INSTAGRAM = "instagram", _("Instagram")
    VIBER = "viber", _("Viber")
    VK = "vk", _("VK")
    SMS = "sms", _("SMS")


class Channel(models.Model):
    """One connected account: a bot, a WhatsApp number, an Instagram page, a mailbox, a site widget."""

    class ReplyPolicy(models.TextChoices):
        CONTINUE = "continue", _("Continue the last conversation")
        NEW_AFTER_RESOLVE = "new", _("Start a new conversation after it was resolved")

    provider = models.CharField(_("provider"), max_length=16, choices=Provider.choices)
    name = models.CharField(_("name"), max_length=100)
    key = models.SlugField(_("webhook key"), max_length=64, unique=True)
    credentials_encrypted = models.TextField(editable=False, default="")
    config = models.JSONField(
        _("settings"),
        default=dict,
        blank=True,
        help_text=_("Non-secret settings: phone number id, bot username, mailbox host…"),
    )
    team = models.CharField(_("team"), max_length=60, blank=True)
    reply_policy = models.CharField(
        _("after a conversation is resolved"),
        max_length=16,
        choices=ReplyPolicy.choices,
        default=ReplyPolicy.NEW_AFTER_RESOLVE,
    )
    first_response_minutes = models.PositiveIntegerField(_("first response target, minutes"), default=1)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("connected"))

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["provider", "name"]

    def __str__(self) -> str:
        return f"{self.get_provider_display()}: {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        from omnia.channels.queries import forget_channels  # the webhook lookup's cache

        forget_channels()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        deleted = super().delete(*args, **kwargs)
        from omnia.channels.queries import forget_channels

        forget_channels()
        return deleted

    @property
    def credentials(self) -> dict[str, Any]:
        """Secrets (bot token, app secret, access token, passwords), decrypted on use."""
        return decrypt_json(self.credentials_encrypted)

    @credentials.setter
    def credentials(self, value: dict[str, Any]) -> None:
        self.credentials_encrypted = encrypt_json(value)


class InboundEvent(models.Model):
    """Every webhook event as received, stored before the provider gets its 200; deduplicated."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        UNSUPPORTED = "unsupported", _("Unsupported")
        FAILED = "failed", _("Failed")

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="events")
    event_id = models.CharField(max_length=255)
    received_at = models.DateTimeField(db_index=True)
    payload = models.JSONField()
    # The connector's parsed event, kept when it is applied after the answer (ingest.accept_webhook).
    parsed = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "event_id"], name="inbound_event_once")]
        indexes = [
            # The backlog apply_pending reads, oldest first: only the rows still waiting are in it.
            models.Index(fields=["id"], condition=models.Q(status="received"), name="inbound_event_waiting"),
        ]


class MailboxState(models.Model):
    """IMAP bookkeeping of an e-mail channel: the UIDs taken so far, and how the last poll went.

    A message with a UID above `last_uid` (under the same `uidvalidity`) has not been taken yet;
    `last_uid` moves in the same transaction that stores each message. A changed UIDVALIDITY means
    the server renumbered the folder: the poller reads it again from a few days back, and the
    Message-ID dedupe keeps what was stored before from coming in twice.
    """

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="mailbox_state")
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    last_polled_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last checked without errors"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    busy_until = models.DateTimeField(
        null=True, blank=True, help_text="A poll in progress holds the mailbox until then"
    )

    class Meta:
        verbose_name = _("mailbox state")
        verbose_name_plural = _("mailbox states")

    def __str__(self) -> str:
        return f"{self.channel_id}: {self.folder} {self.uidvalidity}/{self.last_uid}"


class MessageTemplate(models.Model):
    """A message template the provider approved (WhatsApp), as the shop registered it at Meta: the only
    thing that may start or resume a conversation outside the 24-hour window. Its body keeps Meta's
    numbered placeholders ({{1}}, {{2}}…) that the operator (or a notification) fills in."""

    class Category(models.TextChoices):
        UTILITY = "utility", _("Utility (orders, deliveries)")
        MARKETING = "marketing", _("Marketing")
        AUTHENTICATION = "authentication", _("Authentication")

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="message_templates", verbose_name=_("channel")
    )
    name = models.CharField(_("name at the provider"), max_length=512)
    language = models.CharField(_("language code"), max_length=15)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices, default=Category.UTILITY)
    body = models.TextField(_("text"), help_text=_("As approved, with {{1}}, {{2}}… where the values go."))
    is_active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(_("added"))

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["name", "language"]
        constraints = [models.UniqueConstraint(fields=["channel", "name", "language"], name="message_template_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"
