from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Source(models.TextChoices):
    WEB = "web", _("Website")
    STORE = "store", _("Store")
    PHONE = "phone", _("Phone")
    WEBCHAT = "webchat", _("Web chat")
    TELEGRAM = "telegram", _("Telegram")
    WHATSAPP = "whatsapp", _("WhatsApp")
    INSTAGRAM = "instagram", _("Instagram")
    VIBER = "viber", _("Viber")
    VK = "vk", _("VK")
    EMAIL = "email", _("E-mail")
    KASPI = "kaspi", _("Kaspi.kz")
    SATU = "satu", _("Satu.kz")
    API = "api", _("API")


class Order(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONFIRMED = "confirmed", _("Confirmed")
        PAID = "paid", _("Paid")
        PICKING = "picking", _("Picking")
        READY = "ready", _("Ready for pick-up")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        PICKED_UP = "picked_up", _("Picked up")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        RETURNED = "returned", _("Returned")

    class Fulfillment(models.TextChoices):
        DELIVERY = "delivery", _("Delivery")
        PICKUP = "pickup", _("Pick-up")
        TAKEAWAY = "takeaway", _("Take-away in store")

    number = models.CharField(_("number"), max_length=32, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("customer"),
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    location = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("store"),
        help_text=_("Where it was sold or is handed out."),
    )
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    delivery_price = models.DecimalField(
        _("delivery price"),
        max_digits=14,
        decimal_places=2,
        default=Decimal(0),
        help_text=_("Part of the total: the goods plus this."),
    )
    currency = models.CharField(_("currency"), max_length=3)
    comment = models.TextField(_("comment"), blank=True)
    placed_at = models.DateTimeField(_("placed"), db_index=True)
    fulfillment = models.CharField(
        _("fulfilment"), max_length=16, choices=Fulfillment.choices, default=Fulfillment.TAKEAWAY
    )
    delivery_address = models.JSONField(_("delivery address"), default=dict, blank=True)
    conversation = models.ForeignKey(
        "conversations.Conversation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
        verbose_name=_("conversation"),
    )
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    possible_duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("possible duplicate of"),
        help_text=_("The same customer ordered the same through another channel shortly before: confirm or merge."),
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=~Q(external_id=""), name="order_unique_external_id"
            ),
            models.CheckConstraint(condition=Q(total__gte=Decimal(0)), name="order_total_not_negative"),
            models.CheckConstraint(condition=Q(delivery_price__gte=Decimal(0)), name="order_delivery_not_negative"),
        ]
        indexes = [models.Index(fields=["source", "placed_at"])]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    discount = models.DecimalField(_("discount"), max_digits=14, decimal_places=2, default=Decimal(0))
    location = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("sourced from"),
    )

    reservation = models.OneToOneField(
        "inventory.Reservation", null=True, blank=True, on_delete=models.SET_NULL, related_name="order_line"
    )

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive")]

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity - self.discount


class Payment(models.Model):
    class Method(models.TextChoices):
        CARD_ONLINE = "card_online", _("Card online")
        CARD_TERMINAL = "card_terminal", _("Card terminal")
        KASPI_PAY = "kaspi_pay", _("Kaspi Pay")
        KASPI_RED = "kaspi_red", _("Kaspi Red / credit")
        QIWI = "qiwi", _("QIWI")
        FORTEPAY = "fortepay", _("FortePay")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        CASH_ON_DELIVERY = "cash_on_delivery", _("Cash on delivery")
        CASH_IN_STORE = "cash_in_store", _("Cash in store")

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("payment", "Pending")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        REFUNDED = "refunded", _("Refunded")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    reference = models.CharField(_("provider reference"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=Decimal(0)), name="payment_amount_positive")]


class StatusChange(models.Model):
    """The order's history: every transition with who, when and why (append-only)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    old = models.CharField(_("from"), max_length=16, blank=True)
    new = models.CharField(_("to"), max_length=16)
    at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("why"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["at", "id"]


class Return(models.Model):
    """Units a customer brought back, at any location that takes returns (append-only).

    An exchange is a return whose `replacement` is the new order placed for the customer in the same
    step (its comment names the returned order)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns", verbose_name=_("order"))
    location = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, related_name="+", verbose_name=_("returned at")
    )
    reason = models.CharField(_("why"), max_length=300)
    at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    refund = models.OneToOneField(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="return_of", verbose_name=_("refund")
    )
    replacement = models.ForeignKey(
        Order,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replaces",
        verbose_name=_("exchanged for"),
    )
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        ordering = ["at", "id"]


class ReturnLine(models.Model):
    order_return = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="returned")
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("returned line")
        verbose_name_plural = _("returned lines")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_quantity_positive")]


class MarketplaceAccount(models.Model):
    """A marketplace account whose orders a poll imports (Kaspi.kz, Satu.kz); its API token is encrypted at rest."""

    name = models.CharField(_("name"), max_length=100)
    token_encrypted = models.TextField(editable=False, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    polling_since = models.DateTimeField(null=True, blank=True, editable=False)  # a poll's lease on the account
    created_at = models.DateTimeField(_("connected"))

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def token(self) -> str:
        """The API token (Kaspi's X-Auth-Token, Satu's Bearer token), decrypted on use."""
        from omnia.core.crypto import decrypt_json

        return str(decrypt_json(self.token_encrypted).get("token", ""))

    @token.setter
    def token(self, value: str) -> None:
        from omnia.core.crypto import encrypt_json

        self.token_encrypted = encrypt_json({"token": value})


class KaspiAccount(MarketplaceAccount):
    """A Kaspi.kz merchant whose orders the poll imports."""

    watermark = models.DateTimeField(
        _("polled from"), null=True, blank=True, help_text=_("Orders created before this were all handled.")
    )

    class Meta(MarketplaceAccount.Meta):
        verbose_name = _("Kaspi.kz account")
        verbose_name_plural = _("Kaspi.kz accounts")


class KaspiOrder(models.Model):
    """A Kaspi order the poll has seen: the order it became here and what Kaspi was told."""

    class Outcome(models.TextChoices):
        PLACED = "placed", _("Placed, not yet accepted at Kaspi")
        ACCEPTED = "accepted", _("Accepted at Kaspi")
        OUT_OF_STOCK = "out_of_stock", _("Out of stock, not yet cancelled at Kaspi")
        CANCELLED = "cancelled", _("Cancelled at Kaspi: out of stock")
        FAILED = "failed", _("Could not be imported")

    account = models.ForeignKey(KaspiAccount, on_delete=models.CASCADE, related_name="orders")
    kaspi_id = models.CharField(_("Kaspi order id"), max_length=100)
    code = models.CharField(_("Kaspi order number"), max_length=40)
    order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="kaspi", verbose_name=_("order")
    )
    state = models.CharField(_("Kaspi state"), max_length=32, blank=True)
    status = models.CharField(_("Kaspi status"), max_length=40, blank=True)
    kaspi_delivery = models.BooleanField(_("Kaspi delivery"), default=False)
    created_on_kaspi = models.DateTimeField(_("created at Kaspi"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    error = models.TextField(_("error"), blank=True)
    pushed_status = models.CharField(_("last status told to Kaspi"), max_length=40, blank=True)
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("Kaspi.kz order")
        verbose_name_plural = _("Kaspi.kz orders")
        ordering = ["-created_on_kaspi"]
        constraints = [models.UniqueConstraint(fields=["account", "kaspi_id"], name="kaspi_order_unique_id")]

    def __str__(self) -> str:
        return f"Kaspi {self.code}"


class SavedOrderView(models.Model):
    """A named set of order-list filters (the list's query string), a user's own or shared with everyone."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_order_views", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filters"), max_length=1000, blank=True)
    shared = models.BooleanField(_("shared with everyone"), default=False)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("saved order view")
        verbose_name_plural = _("saved order views")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_order_view_unique_name")]

    def __str__(self) -> str:
        return self.name


class SatuAccount(MarketplaceAccount):
    """A Satu.kz company whose orders the poll imports."""

    pickup_location = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("pick-up store"),
        help_text=_("Where Satu orders with self-pickup are handed out (and their stock taken first)."),
    )
    last_id = models.BigIntegerField(
        _("handled up to order id"), null=True, blank=True, help_text=_("Satu orders up to this id were all handled.")
    )

    class Meta(MarketplaceAccount.Meta):
        verbose_name = _("Satu.kz account")
        verbose_name_plural = _("Satu.kz accounts")


class SatuOrder(models.Model):
    """A Satu order the poll has seen: the order it became here and what Satu was told."""

    class Outcome(models.TextChoices):
        PLACED = "placed", _("Placed, not yet accepted at Satu")
        ACCEPTED = "accepted", _("Accepted at Satu")
        OUT_OF_STOCK = "out_of_stock", _("Out of stock, not yet cancelled at Satu")
        CANCELLED = "cancelled", _("Cancelled at Satu: out of stock")
        CANCEL_REFUSED = "cancel_refused", _("Out of stock; Satu refused the cancellation: cancel it in the cabinet")
        FAILED = "failed", _("Could not be imported")
        DRAFT = "draft", _("A draft at Satu: imported once it is placed")

    account = models.ForeignKey(SatuAccount, on_delete=models.CASCADE, related_name="orders")
    satu_id = models.BigIntegerField(_("Satu order id"))
    order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="satu", verbose_name=_("order")
    )
    status = models.CharField(_("Satu status"), max_length=40, blank=True)
    created_on_satu = models.DateTimeField(_("created at Satu"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    error = models.TextField(_("error"), blank=True)
    pushed_status = models.CharField(_("last status told to Satu"), max_length=40, blank=True)
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("Satu.kz order")
        verbose_name_plural = _("Satu.kz orders")
        ordering = ["-satu_id"]
        constraints = [models.UniqueConstraint(fields=["account", "satu_id"], name="satu_order_unique_id")]

    def __str__(self) -> str:
        return f"Satu {self.satu_id}"


class Shipment(models.Model):
    """The part of an order sourced from one location: picked, shipped or handed out on its own.

    One per sourcing location (the locations of the order's lines); the order follows its shipments."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("shipment", "Pending")
        PICKING = "picking", _("Picking")
        READY = "ready", _("Ready for pick-up")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        PICKED_UP = "picked_up", _("Picked up")
        CANCELLED = "cancelled", _("Cancelled")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments", verbose_name=_("order"))
    location = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, related_name="+", verbose_name=_("sourced from")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["order", "location"], name="shipment_unique_location")]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.location_id}"


class ShipmentChange(models.Model):
    """A shipment's history: every move with who, when and why (append-only). Kept apart from the order's
    StatusChange, which webhooks and the marketplace pushes read as the order's own transitions."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="history")
    old = models.CharField(_("from"), max_length=16, blank=True)
    new = models.CharField(_("to"), max_length=16)
    at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("why"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("shipment change")
        verbose_name_plural = _("shipment changes")
        ordering = ["at", "id"]
