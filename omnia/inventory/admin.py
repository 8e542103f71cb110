from django.contrib import admin

from omnia.core.admin_base import SectionAdmin
from omnia.core.permissions import Section
from omnia.inventory.models import Location, StockLevel, StockMove


@admin.register(Location)
class LocationAdmin(SectionAdmin):
    section = Section.SETTINGS
    list_display = ["name", "code", "kind", "city", "sells", "ships", "offers_pickup", "is_active"]
    list_filter = ["kind", "city", "is_active"]
    search_fields = ["name", "code", "city", "address"]


@admin.register(StockLevel)
class StockLevelAdmin(SectionAdmin):
    """Read-only: stock changes only through ledgered actions, never by editing numbers."""

    section = Section.STOCK
    read_only = True
    list_display = ["variant", "location", "on_hand", "reserved", "updated_at"]
    list_filter = ["location"]
    search_fields = ["variant__sku"]
    list_select_related = ["variant__product", "location"]


@admin.register(StockMove)
class StockMoveAdmin(SectionAdmin):
    section = Section.STOCK
    read_only = True
    list_display = ["at", "variant", "location", "kind", "quantity", "reason", "actor"]
    list_filter = ["kind", "location"]
    search_fields = ["variant__sku", "reason"]
    list_select_related = ["variant__product", "location", "actor"]
