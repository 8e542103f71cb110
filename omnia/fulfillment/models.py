"""Delivery: the carriers a shop ships with, where they go and for how much, what each order goes with,
and the parcels handed to them with their tracking.

A Carrier (the shop's own couriers, Kazpost, CDEK, a same-day service) serves Zones (a list of cities, or a
distance around a location) with a delivery time in working days and Tariffs by weight and order value.
The quote (fulfillment.quotes) lists the options for a cart or an order and a city; the one the customer
takes is the order's DeliveryChoice. Each sourcing location's part of a delivery order (orders.Shipment)
handed to a carrier is a Parcel, whose status the operator or the carrier's tracking webhook moves on.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from omnia.core.crypto import decrypt_json, encrypt_json

WEEKDAYS = [0, 1, 2, 3, 4]  # Monday to Friday


def default_working_days() -> list[int]:
    return list(WEEKDAYS)


class Carrier(models.Model):
    """A delivery service the shop ships with."""

    class Kind(models.TextChoices):
        OWN_COURIER = "own_courier", _("Own couriers")
        KAZPOST = "kazpost", _("Kazpost")
        CDEK = "cdek", _("CDEK")
        SAME_DAY = "same_day", _("Same-day courier service")
        OTHER = "other", _("Other")

    class Tracking(models.TextChoices):
        MANUAL = "manual", _("Moved by the operator")
        GENERIC = "generic", _("Signed JSON webhook")
        CDEK = "cdek", _("CDEK webhooks")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.OTHER)
    tracking = models.CharField(_("tracking updates"), max_length=16, choices=Tracking.choices, default=Tracking.MANUAL)
    webhook_key = models.SlugField(
        _("webhook key"), max_length=64, unique=True, help_text=_("The tracking webhook's address ends with it.")
    )
    secret_encrypted = models.TextField(editable=False, default="")
    tracking_url = models.CharField(
        _("tracking page"),
        max_length=300,
        blank=True,
        help_text=_("The carrier's page for a parcel, with {tracking_number} where the number goes."),
    )
    cutoff_time = models.TimeField(
        _("cut-off time"), null=True, blank=True, help_text=_("Orders ready after this leave on the next working day.")
    )
    working_days = models.JSONField(
        _("working days"), default=default_working_days, help_text=_("Weekdays it collects and delivers, 0 = Monday.")
    )
    holidays = models.JSONField(_("days off"), default=list, blank=True, help_text=_("Dates, YYYY-MM-DD."))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")
        ordering = ["position", "name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def secret(self) -> str:
        """The tracking webhook's signing secret, decrypted on use."""
        if not self.secret_encrypted:
            return ""
        return str(decrypt_json(self.secret_encrypted).get("secret", ""))

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = encrypt_json({"secret": value})


class Zone(models.Model):
    """Where a carrier delivers: a list of cities, or everything within a distance of a location."""

    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="zones", verbose_name=_("carrier"))
    name = models.CharField(_("name"), max_length=100)
    cities = models.JSONField(_("cities"), default=list, blank=True, help_text=_("City and region names."))
    origin = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("distance from"),
    )
    max_distance_km = models.DecimalField(_("within, km"), max_digits=7, decimal_places=2, null=True, blank=True)
    days_min = models.PositiveSmallIntegerField(_("delivery days, from"), default=1)
    days_max = models.PositiveSmallIntegerField(_("delivery days, to"), default=2)
    door_delivery = models.BooleanField(_("delivers to the door"), default=True)
    pickup_points = models.JSONField(
        _("pick-up points"), default=list, blank=True, help_text=_("[{code, name, address, city}]")
    )
    free_from = models.DecimalField(_("free from order value"), max_digits=14, decimal_places=2, null=True, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("delivery zone")
        verbose_name_plural = _("delivery zones")
        ordering = ["carrier", "position", "name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(days_max__gte=models.F("days_min")), name="zone_days_ordered"),
            models.CheckConstraint(
                condition=Q(max_distance_km__isnull=True) | Q(max_distance_km__gt=0), name="zone_distance_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier}: {self.name}"


class Tariff(models.Model):
    """A price in a zone for parcels up to a weight (any weight when empty) and orders from a value."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="tariffs", verbose_name=_("zone"))
    max_weight_grams = models.PositiveIntegerField(_("up to, g"), null=True, blank=True)
    min_order_value = models.DecimalField(_("order value from"), max_digits=14, decimal_places=2, default=Decimal(0))
    price = models.DecimalField(_("price"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)

    class Meta:
        verbose_name = _("tariff")
        verbose_name_plural = _("tariffs")
        ordering = ["zone", "max_weight_grams", "min_order_value", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=Decimal(0)), name="tariff_price_not_negative"),
            models.CheckConstraint(condition=Q(min_order_value__gte=Decimal(0)), name="tariff_value_not_negative"),
            models.UniqueConstraint(
                fields=["zone", "max_weight_grams", "min_order_value"],
                condition=Q(max_weight_grams__isnull=False),
                name="tariff_once",
            ),
            models.UniqueConstraint(
                fields=["zone", "min_order_value"],
                condition=Q(max_weight_grams__isnull=True),
                name="tariff_any_weight_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.zone}: {self.price} {self.currency}"


class DeliverySettings(models.Model):
    """Shop-wide delivery rules (one row): a single price for everyone, if the shop sets one."""

    flat_price = models.DecimalField(
        _("one delivery price for everyone"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("When set, every door delivery costs this, whatever the carrier's tariff."),
    )
    flat_free_from = models.DecimalField(
        _("free delivery from order value"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3)
    transfer_days = models.PositiveSmallIntegerField(_("days a transfer between locations takes"), default=2)
    default_weight_grams = models.PositiveIntegerField(_("weight of an item without one, g"), default=500)
    updated_at = models.DateTimeField(_("updated"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("delivery settings")
        verbose_name_plural = _("delivery settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(flat_price__isnull=True) | Q(flat_price__gte=Decimal(0)), name="delivery_flat_not_negative"
            ),
        ]


class DeliveryChoice(models.Model):
    """The delivery option an order goes with, as quoted when it was chosen (kept even if tariffs change)."""

    class Kind(models.TextChoices):
        COURIER = "courier", _("Delivery to the door")
        PICKUP_POINT = "pickup_point", _("Carrier pick-up point")
        STORE_PICKUP = "store_pickup", _("Pick-up in a store")

    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="delivery_choice", verbose_name=_("order")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    carrier = models.ForeignKey(
        Carrier, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("carrier")
    )
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    location = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("pick-up store"),
    )
    pickup_point = models.JSONField(_("pick-up point"), default=dict, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    price = models.DecimalField(_("price"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    ready_on = models.DateField(_("leaves on"))
    estimated_from = models.DateField(_("arrives from"))
    estimated_to = models.DateField(_("arrives by"))
    chosen_at = models.DateTimeField(_("chosen"))
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("delivery choice")
        verbose_name_plural = _("delivery choices")
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=Decimal(0)), name="delivery_choice_price_not_negative"),
            models.CheckConstraint(
                condition=Q(estimated_to__gte=models.F("estimated_from")), name="delivery_choice_dates_ordered"
            ),
        ]


class Parcel(models.Model):
    """One sourcing location's part of an order (orders.Shipment) in a carrier's hands, with its tracking."""

    class Status(models.TextChoices):
        CREATED = "created", _("Created")
        HANDED_OVER = "handed_over", _("Handed to the carrier")
        IN_TRANSIT = "in_transit", _("In transit")
        AT_PICKUP_POINT = "at_pickup_point", _("At the pick-up point")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Delivery failed")
        RETURNED = "returned", _("Returned to the shop")

    shipment = models.OneToOneField(
        "orders.Shipment", on_delete=models.CASCADE, related_name="parcel", verbose_name=_("shipment")
    )
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="parcels", verbose_name=_("carrier"))
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.CREATED)
    label = models.JSONField(
        _("label data"), default=dict, blank=True, help_text=_("Sender, recipient, address, weight, pieces, value.")
    )
    weight_grams = models.PositiveIntegerField(_("weight, g"), null=True, blank=True)
    pickup_point = models.JSONField(_("pick-up point"), default=dict, blank=True)
    estimated_on = models.DateField(_("expected"), null=True, blank=True)
    delayed_at = models.DateTimeField(_("reported late"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))
    status_at = models.DateTimeField(_("status since"))

    class Meta:
        verbose_name = _("parcel")
        verbose_name_plural = _("parcels")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "tracking_number"], condition=~Q(tracking_number=""), name="parcel_tracking_once"
            ),
        ]
        indexes = [models.Index(fields=["status", "estimated_on"]), models.Index(fields=["tracking_number"])]

    def __str__(self) -> str:
        return self.tracking_number or f"parcel {self.pk}"


class ParcelEvent(models.Model):
    """What happened to a parcel, from the operator or the carrier (append-only).

    A carrier event is applied once: its `dedupe_key` (the carrier's event id, or a hash of the payload) is
    unique, so a redelivered webhook changes nothing."""

    class Source(models.TextChoices):
        OPERATOR = "operator", _("Operator")
        WEBHOOK = "webhook", _("Carrier webhook")
        SYSTEM = "system", _("Omnia")

    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(_("status"), max_length=16, blank=True, choices=Parcel.Status.choices)
    carrier_status = models.CharField(_("carrier's status"), max_length=60, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    place = models.CharField(_("where"), max_length=200, blank=True)
    at = models.DateTimeField(_("when"))
    received_at = models.DateTimeField(_("recorded"))
    source = models.CharField(_("from"), max_length=16, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dedupe_key = models.CharField(max_length=128, null=True, blank=True, unique=True)
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("parcel event")
        verbose_name_plural = _("parcel events")
        ordering = ["at", "id"]


class TrackingRejection(models.Model):
    """A carrier webhook call that was not applied (bad signature, unknown tracking number, bad payload):
    kept for the owner to see, never acted on."""

    carrier = models.ForeignKey(Carrier, null=True, blank=True, on_delete=models.CASCADE, related_name="rejections")
    at = models.DateTimeField(_("when"), db_index=True)
    reason = models.CharField(_("why"), max_length=60)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    body = models.TextField(blank=True)

    class Meta:
        verbose_name = _("rejected tracking update")
        verbose_name_plural = _("rejected tracking updates")
        ordering = ["-at", "-id"]
