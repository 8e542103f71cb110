from django.contrib import admin

from omnia.core.admin_base import SectionAdmin
from omnia.core.permissions import Section
from omnia.customers.models import Customer, Identity


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0
    fields = ("kind", "value", "raw_value", "verified", "channel", "first_seen_at", "last_seen_at")
    readonly_fields = fields


@admin.register(Customer)
class CustomerAdmin(SectionAdmin):
    """Read-only: customers change through the console so identity rules and merges hold."""

    section = Section.CUSTOMERS
    read_only = True
    list_display = ["__str__", "city", "language", "created_source", "created_at"]
    list_filter = ["city", "language", "created_source"]
    search_fields = ["first_name", "last_name", "identities__value"]
    inlines = [IdentityInline]
