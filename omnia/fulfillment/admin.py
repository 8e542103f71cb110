"""Back office: delivery set-up and orders' choices, read-only (changes go through Settings → Delivery or the
API, where the fulfillment actions validate them and write the audit log)."""

from __future__ import annotations

from django.contrib import admin

from omnia.core.admin_base import SectionAdmin
from omnia.core.permissions import Section
from omnia.fulfillment.models import Carrier, DeliveryChoice, DeliverySettings, Tariff, Zone


class TariffInline(admin.TabularInline):
    model = Tariff
    extra = 0
    can_delete = False
    fields = ("max_weight_grams", "min_order_value", "price", "currency")
    readonly_fields = ("max_weight_grams", "min_order_value", "price", "currency")


@admin.register(Carrier)
class CarrierAdmin(SectionAdmin):
    read_only = True
    list_display = ["name", "code", "kind", "tracking", "cutoff_time", "is_active"]
    list_filter = ["kind", "tracking", "is_active"]
    search_fields = ["name", "code"]
    exclude = ["secret_encrypted"]


@admin.register(Zone)
class ZoneAdmin(SectionAdmin):
    read_only = True
    list_display = ["name", "carrier", "days_min", "days_max", "door_delivery", "free_from", "is_active"]
    list_filter = ["carrier", "is_active"]
    search_fields = ["name"]
    inlines = [TariffInline]


@admin.register(DeliverySettings)
class DeliverySettingsAdmin(SectionAdmin):
    read_only = True
    list_display = ["flat_price", "flat_free_from", "currency", "transfer_days", "default_weight_grams", "updated_at"]


@admin.register(DeliveryChoice)
class DeliveryChoiceAdmin(SectionAdmin):
    section = Section.ORDERS
    read_only = True
    list_display = ["order", "kind", "carrier", "location", "city", "price", "estimated_to", "chosen_at"]
    list_filter = ["kind", "carrier"]
    search_fields = ["order__number", "city"]
    raw_id_fields = ["order"]
