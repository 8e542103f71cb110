from django.contrib import admin

from omnia.core.admin_base import SectionAdmin
from omnia.core.permissions import Section
from omnia.orders.models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ("variant", "quantity", "unit_price", "discount", "location")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(SectionAdmin):
    """Read-only: order status moves through the status machine, which audits every change."""

    section = Section.ORDERS
    read_only = True
    list_display = ["number", "placed_at", "source", "status", "customer", "location", "total", "currency"]
    list_filter = ["source", "status", "location"]
    search_fields = ["number", "external_id"]
    date_hierarchy = "placed_at"
    list_select_related = ["customer", "location"]
    inlines = [OrderLineInline]
