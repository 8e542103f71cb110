from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from omnia.customers.fields import TokenField


class ChannelKind(models.TextChoices):
    """Where a contact happens or a handle comes from (a superset of order sources)."""

    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    WEBCHAT = "webchat", _("Web chat")
    TELEGRAM = "telegram", _("Telegram")
    WHATSAPP = "whatsapp", _("WhatsApp")
    INSTAGRAM = "instagram", _("Instagram")
    VIBER = "viber", _("Viber")
    VK = "vk", _("VK")
    WEB = "web", _("Website")
    STORE = "store", _("Store")
    KASPI = "kaspi", _("Kaspi.kz")
    SATU = "satu", _("Satu.kz")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    CONSOLE = "console", _("Console")


class Tag(models.Model):
    name = models.CharField(_("tag"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    first_name = models.CharField(_("first name"), max_length=120, blank=True)
    last_name = models.CharField(_("last name"), max_length=120, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True, db_index=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    loyalty_card = models.CharField(_("loyalty card"), max_length=40, blank=True, db_index=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers", verbose_name=_("tags"))
    notes = models.TextField(_("notes"), blank=True)
    created_source = models.CharField(_("came from"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created"), db_index=True)
    updated_at = models.DateTimeField(_("updated"), null=True, blank=True)

    # Preferences
    preferred_channel = models.CharField(_("preferred channel"), max_length=16, blank=True, choices=ChannelKind.choices)
    do_not_call = models.BooleanField(_("do not call"), default=False)
    quiet_hours_start = models.TimeField(_("quiet hours from"), null=True, blank=True)
    quiet_hours_end = models.TimeField(_("quiet hours until"), null=True, blank=True)

    # Kept up to date by actions (orders, timeline), so lists filter and sort without joins:
    # orders_count = orders not cancelled; lifetime_value = totals of orders neither cancelled nor returned.
    orders_count = models.PositiveIntegerField(_("orders"), default=0)
    lifetime_value = models.DecimalField(_("lifetime value"), max_digits=16, decimal_places=2, default=Decimal(0))
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True, db_index=True)

    # A card merged into another stays, pointing at the survivor, so the merge can be undone.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="absorbed", verbose_name=_("merged into")
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self) -> str:
        return self.full_name or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None


class SearchToken(models.Model):
    """A key a customer's name is found by (core.text.name_search_keys): each folded word, in Latin too,
    and each ordered pair of words. Active cards only; written by customers.actions (reindex_customer).

    `contact_day` is the day of the card's last contact (date ordinal, 0 = never), so a name shared by
    thousands of cards yields the most recently contacted ones from the index alone.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="search_tokens", db_index=False)
    token = TokenField(max_length=140)
    contact_day = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # Also the index for a card's own keys (reindexing, and checking one more typed word per card).
            models.UniqueConstraint(fields=["customer", "token"], name="search_token_customer"),
        ]
        indexes = [
            # Covering on every database: a prefix range yields (contact_day, customer) without table reads,
            # each word's cards most recently contacted first, so ranking the range by contact day keeps
            # its first entries and discards the rest at one comparison each.
            # PostgreSQL needs the pattern operator class for LIKE 'prefix%' to use the index; SQLite
            # answers prefixes with a range (customers.fields) and ignores opclasses.
            models.Index(
                fields=["token", "-contact_day", "-customer"],
                name="search_token_prefix_day",
                opclasses=["varchar_pattern_ops", "int4_ops", "int8_ops"],
            ),
        ]


class Identity(models.Model):
    """A handle that reaches a customer. One normalised (kind, value) belongs to one customer."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("E-mail")
        TELEGRAM = "telegram", _("Telegram")
        WHATSAPP = "whatsapp", _("WhatsApp")
        WHATSAPP_USER = "whatsapp_user", _("WhatsApp user id")  # business-scoped, for users with usernames
        INSTAGRAM = "instagram", _("Instagram")
        VIBER = "viber", _("Viber")
        VK = "vk", _("VK")
        WEBCHAT = "webchat", _("Web chat visitor")
        KASPI = "kaspi", _("Kaspi.kz")
        EXTERNAL = "external", _("External id")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=255)
    raw_value = models.CharField(_("as received"), max_length=255, blank=True)
    display_name = models.CharField(_("name in the channel"), max_length=200, blank=True)
    verified = models.BooleanField(_("verified"), default=False)
    first_seen_at = models.DateTimeField(_("first seen"))
    last_seen_at = models.DateTimeField(_("last seen"))
    channel = models.CharField(_("came through"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        ordering = ["kind", "id"]
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="identity_unique_value")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Address(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(_("label"), max_length=60, blank=True, help_text=_("Home, work, dacha…"))
    city = models.CharField(_("city"), max_length=100)
    line = models.CharField(_("street and building"), max_length=300)
    apartment = models.CharField(_("apartment / office"), max_length=40, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    comment = models.CharField(_("for the courier"), max_length=300, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(_("added"))

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["-is_default", "id"]

    def __str__(self) -> str:
        return ", ".join(p for p in (self.city, self.line, self.apartment) if p)


class Consent(models.Model):
    """One given or withdrawn permission, append-only: the latest per (channel, purpose) is in force."""

    class Purpose(models.TextChoices):
        TRANSACTIONAL = "transactional", _("Order and service messages")
        MARKETING = "marketing", _("Marketing")

    ANY_CHANNEL = "any"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=16, help_text=_("A channel kind, or 'any' for every channel."))
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    granted = models.BooleanField(_("granted"))
    at = models.DateTimeField(_("when"))
    source = models.CharField(_("where"), max_length=100, help_text=_("Console, a store, a channel, an import…"))
    method = models.CharField(_("how"), max_length=100, help_text=_("Checkbox, verbal, STOP reply, link…"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "channel", "purpose", "at"])]


class TimelineEntry(models.Model):
    """Every interaction with a customer, append-only, written through customers.actions."""

    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message")
        CALL = "call", _("Call")
        ORDER = "order", _("Order")
        RETURN = "return", _("Return")
        VISIT = "visit", _("Store visit")
        NOTE = "note", _("Note")
        CONSULTATION = "consultation", _("Consultation")
        STOCK_REQUEST = "stock_request", _("Asked to be told when back in stock")
        NOTIFICATION = "notification", _("Notification")
        CONSENT = "consent", _("Consent")
        MERGE = "merge", _("Merge")
        PROFILE = "profile", _("Profile change")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(_("when"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    summary = models.CharField(_("summary"), max_length=500)
    ref_type = models.CharField(max_length=60, blank=True, help_text="app_label.model of the linked object")
    ref_id = models.CharField(max_length=60, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "-at", "-id"], name="timeline_customer_at")]


class Merge(models.Model):
    """A merge of `absorbed` into `survivor`, with everything that moved, so it can be undone exactly."""

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_survived")
    absorbed = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_absorbed")
    at = models.DateTimeField(_("merged"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moved = models.JSONField(default=dict, help_text="{'app.model.field': [ids]} moved to the survivor")
    created = models.JSONField(default=dict, help_text="{'app.model': [ids]} rows the merge added")
    survivor_before = models.JSONField(default=dict, help_text="survivor fields the merge changed")
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(survivor=models.F("absorbed")), name="merge_two_cards"),
        ]


class ImportJob(models.Model):
    """A customer import (CSV/XLSX): uploaded → previewed → running → done/failed, with per-row errors."""

    class Status(models.TextChoices):
        PREVIEW = "preview", _("Awaiting confirmation")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"))
    file = models.FileField(upload_to="imports/customers/%Y/%m/")
    filename = models.CharField(_("file"), max_length=255)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PREVIEW)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{'row', 'field', 'message'}]")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("customer import")
        verbose_name_plural = _("customer imports")
        ordering = ["-created_at", "-id"]


class NotDuplicate(models.Model):
    """An operator's verdict that two cards suggested as duplicates are different people."""

    first = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="not_duplicate_pair"),
            models.CheckConstraint(condition=Q(first__lt=models.F("second")), name="not_duplicate_ordered"),
        ]
