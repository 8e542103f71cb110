from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Location(models.Model):
    class Kind(models.TextChoices):
        STORE = "store", _("Store")
        WAREHOUSE = "warehouse", _("Warehouse")
        PICKUP_POINT = "pickup", _("Pick-up point")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    city = models.CharField(_("city"), max_length=100)
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    opening_hours = models.CharField(_("opening hours"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    sells = models.BooleanField(_("sells"), default=True)
    ships = models.BooleanField(_("ships orders"), default=False)
    offers_pickup = models.BooleanField(_("offers pick-up"), default=False)
    accepts_returns = models.BooleanField(_("accepts returns"), default=True)
    ships_to = models.JSONField(
        _("ships to cities"), default=list, blank=True, help_text=_("Cities it delivers to; empty: everywhere.")
    )
    kaspi_point_id = models.CharField(
        _("Kaspi pick-up point id"), max_length=60, blank=True, help_text=_("As in the Kaspi.kz merchant cabinet")
    )
    is_active = models.BooleanField(_("active"), default=True)

    def ships_to_city(self, city: str) -> bool:
        if not self.ships:
            return False
        cities = {c.strip().casefold() for c in self.ships_to or [] if str(c).strip()}
        return not cities or city.strip().casefold() in cities

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["kind", "city", "name"]

    def __str__(self) -> str:
        return self.name


class StockLevel(models.Model):
    """Units of a variant at a location. The database refuses negative availability."""

    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="stock_levels")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    in_transit = models.IntegerField(_("in transit"), default=0, help_text=_("Shipped here by transfers, not arrived"))
    low_stock_threshold = models.PositiveIntegerField(
        _("low stock below"), null=True, blank=True, help_text=_("Flag the level when fewer are available")
    )
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        constraints = [
            models.UniqueConstraint(fields=["variant", "location"], name="stock_level_unique"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(on_hand__gte=F("reserved")), name="stock_available_not_negative"),
            models.CheckConstraint(condition=Q(in_transit__gte=0), name="stock_in_transit_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.location_id}: {self.on_hand}/{self.reserved}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMove(models.Model):
    """The ledger: every change of on-hand or reserved quantity, with who, why and which document. Append-only.

    on_hand of a level is the sum of its rows' `quantity`; reserved the sum of their `reserved_change`.
    """

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt")
        SALE = "sale", _("Sale")
        RETURN = "return", _("Return")
        TRANSFER_OUT = "transfer_out", _("Transfer out")
        TRANSFER_IN = "transfer_in", _("Transfer in")
        CORRECTION = "correction", _("Correction")
        RESERVATION = "reservation", _("Reservation")
        RELEASE = "release", _("Release")

    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    quantity = models.IntegerField(_("quantity"), help_text=_("Positive adds stock, negative removes it."))
    reserved_change = models.IntegerField(_("reserved change"), default=0)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    reference = models.CharField(
        _("document"), max_length=100, blank=True, help_text=_("transfer:12, supply:5, order:A-100001, hold:7…")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("when"))

    class Meta:
        verbose_name = _("stock move")
        verbose_name_plural = _("stock moves")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["variant", "location"]), models.Index(fields=["reference"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(quantity=0) | ~Q(reserved_change=0), name="stock_move_changes_something"
            )
        ]


class Reservation(models.Model):
    """Units set aside at a location for an order line, a cart, a transfer or a clerk's hold."""

    class Owner(models.TextChoices):
        ORDER_LINE = "order_line", _("Order line")
        CART = "cart", _("Cart")
        HOLD = "hold", _("Held for a customer")
        TRANSFER = "transfer", _("Transfer")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        RELEASED = "released", _("Released")
        CONSUMED = "consumed", _("Sold or shipped")
        EXPIRED = "expired", _("Expired")

    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="reservations")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.PositiveIntegerField(_("quantity"))
    owner_kind = models.CharField(_("for"), max_length=16, choices=Owner.choices)
    owner_ref = models.CharField(_("reference"), max_length=100, blank=True, help_text=_("Order line id, cart id…"))
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="reservations"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["owner_kind", "owner_ref"]),
            models.Index(fields=["variant", "location", "status"]),
        ]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive")]

    def __str__(self) -> str:
        return f"hold:{self.pk}"


class Transfer(models.Model):
    """Stock moving between two locations: requested (reserved at the source) → shipped (in transit) → received."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        SHIPPED = "shipped", _("Shipped")
        RECEIVED = "received", _("Received")
        CANCELLED = "cancelled", _("Cancelled")

    source = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_out")
    destination = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.REQUESTED)
    expected_on = models.DateField(_("expected"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("requested"))
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(source=F("destination")), name="transfer_between_two_locations")
        ]

    def __str__(self) -> str:
        return f"transfer:{self.pk}"


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    reservation = models.OneToOneField(
        Reservation, null=True, blank=True, on_delete=models.SET_NULL, related_name="transfer_line"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_line_quantity_positive"),
            models.UniqueConstraint(fields=["transfer", "variant"], name="transfer_line_once"),
        ]


class Supply(models.Model):
    """An incoming delivery from a supplier: what arrives where and when. Its date is the "next arrival"."""

    class Status(models.TextChoices):
        EXPECTED = "expected", _("Expected")
        RECEIVED = "received", _("Received")
        CANCELLED = "cancelled", _("Cancelled")

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="supplies")
    supplier = models.CharField(_("supplier"), max_length=200, blank=True)
    reference = models.CharField(_("document number"), max_length=100, blank=True)
    expected_on = models.DateField(_("expected"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.EXPECTED)
    created_at = models.DateTimeField(_("created"))
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("supply")
        verbose_name_plural = _("supplies")
        ordering = ["expected_on", "id"]
        indexes = [models.Index(fields=["status", "location", "expected_on"])]

    def __str__(self) -> str:
        return f"supply:{self.pk}"


class SupplyLine(models.Model):
    supply = models.ForeignKey(Supply, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="supply_lines")
    quantity = models.PositiveIntegerField(_("quantity"))
    received_quantity = models.PositiveIntegerField(_("received"), default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="supply_line_quantity_positive"),
            models.UniqueConstraint(fields=["supply", "variant"], name="supply_line_once"),
        ]


class StockSubscription(models.Model):
    """A customer asked to be told when a variant is back (at a location, or anywhere)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="stock_subscriptions")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="subscriptions")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(_("tell through"), max_length=16, blank=True)
    created_at = models.DateTimeField(_("asked"))
    notified_at = models.DateTimeField(_("told"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("back-in-stock request")
        verbose_name_plural = _("back-in-stock requests")
        ordering = ["-created_at", "-id"]
        # Not unique per customer: merging two cards may bring two requests together (both are kept).
        indexes = [models.Index(fields=["variant", "notified_at"])]


class Feed(models.Model):
    """A price and stock feed a marketplace pulls from a secret URL (Kaspi.kz XML). Rebuilt when stock
    changes; the last build is served as is, so a pull never waits for the database."""

    class Kind(models.TextChoices):
        KASPI = "kaspi", _("Kaspi.kz")

    kind = models.CharField(_("marketplace"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    token = models.CharField(_("secret URL token"), max_length=64, unique=True)
    company = models.CharField(_("company name"), max_length=200)
    merchant_id = models.CharField(_("merchant id"), max_length=60)
    is_active = models.BooleanField(_("active"), default=True)
    content = models.TextField(editable=False, blank=True)
    built_at = models.DateTimeField(_("built"), null=True, blank=True)
    stale_since = models.DateTimeField(_("changed since the build"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("marketplace feed")
        verbose_name_plural = _("marketplace feeds")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"
