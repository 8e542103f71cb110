from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending")
        SNOOZED = "snoozed", _("Snoozed")
        RESOLVED = "resolved", _("Resolved")

    class Priority(models.IntegerChoices):
        LOW = 0, _("Low")
        NORMAL = 1, _("Normal")
        HIGH = 2, _("High")
        URGENT = 3, _("Urgent")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="conversations")
    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="conversations")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
        verbose_name=_("assignee"),
    )
    team = models.CharField(_("team"), max_length=60, blank=True)
    labels = models.JSONField(_("labels"), default=list, blank=True)
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    created_at = models.DateTimeField(_("started"))
    last_message_at = models.DateTimeField(_("last message"), db_index=True)
    waiting_since = models.DateTimeField(
        _("waiting since"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("The oldest inbound message not answered yet."),
    )
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    unread_count = models.PositiveIntegerField(_("unread"), default=0)
    external_thread_id = models.CharField(
        max_length=255, blank=True, help_text="Where to reply: chat id, e-mail thread root…"
    )

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-last_message_at", "-id"]
        indexes = [
            models.Index(fields=["status", "waiting_since"]),
            models.Index(fields=["customer", "channel", "status"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"


class Message(models.Model):
    """A message in or out, a private note, or a system line. Outbound rows are the outbox."""

    class Direction(models.TextChoices):
        IN = "in", _("Inbound")
        OUT = "out", _("Outbound")

    class Kind(models.TextChoices):
        TEXT = "text", _("Message")
        NOTE = "note", _("Private note")
        SYSTEM = "system", _("System")
        UNSUPPORTED = "unsupported", _("Unsupported message")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        SCHEDULED = "scheduled", _("Scheduled")
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        FAILED = "failed", _("Failed")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEXT)
    text = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    provider_message_id = models.CharField(max_length=255, blank=True)
    reply_to = models.CharField(max_length=255, blank=True, help_text="Where the provider should deliver it")
    created_at = models.DateTimeField(db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When the provider sent or received it")
    send_after = models.DateTimeField(null=True, blank=True, help_text="Scheduled: not before this time")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    error = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    template = models.JSONField(null=True, blank=True, help_text="An approved template (WhatsApp outside 24 h)")
    meta = models.JSONField(
        default=dict,
        blank=True,
        help_text="Provider details: e-mail subject and references, a message tag, an auto-reply mark",
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="message_provider_id_once",
            ),
            models.UniqueConstraint(fields=["idempotency_key"], name="message_idempotency_key_once"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]


class CannedResponse(models.Model):
    """A saved reply an operator inserts with "/shortcut"; its text may hold {{customer.first_name}}-style
    variables from a fixed allow-list (checked when it is saved)."""

    class Language(models.TextChoices):
        ANY = "", _("Any language")
        RU = "ru", _("Russian")
        KK = "kk", _("Kazakh")
        EN = "en", _("English")

    shortcut = models.SlugField(_("shortcut"), max_length=50, allow_unicode=False)
    title = models.CharField(_("title"), max_length=120)
    text = models.TextField(_("text"))
    channel = models.CharField(
        _("channel"), max_length=16, blank=True, help_text=_("A provider (telegram, whatsapp…); empty: every channel.")
    )
    language = models.CharField(_("language"), max_length=8, blank=True, choices=Language.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        ordering = ["shortcut", "channel", "language", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shortcut", "channel", "language"], name="canned_shortcut_once"),
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class OperatorStatus(models.Model):
    """Whether a person takes new conversations now, how many at once, and from which teams."""

    class Presence(models.TextChoices):
        ONLINE = "online", _("Online")
        AWAY = "away", _("Away")
        OFFLINE = "offline", _("Offline")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operator_status")
    status = models.CharField(_("status"), max_length=8, choices=Presence.choices, default=Presence.OFFLINE)
    max_concurrent = models.PositiveSmallIntegerField(
        _("open conversations at once"), default=5, help_text=_("Routing stops giving new ones at this many.")
    )
    teams = models.JSONField(_("teams"), default=list, blank=True)
    last_assigned_at = models.DateTimeField(_("last assigned"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("operator status")
        verbose_name_plural = _("operator statuses")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.status}"


class ConversationEvent(models.Model):
    """What happened to a conversation and when, for SLA reporting (append-only)."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        FIRST_RESPONSE = "first_response", _("First response")
        RESOLVED = "resolved", _("Resolved")
        REOPENED = "reopened", _("Reopened")
        SLA_BREACHED = "sla_breached", _("First response overdue")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["kind", "at"]), models.Index(fields=["conversation", "kind"])]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"], condition=Q(kind="opened"), name="conversation_opened_once"
            ),
        ]
