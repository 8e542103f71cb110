from django.contrib import admin

from omnia.core.admin_base import SectionAdmin
from omnia.core.permissions import Section
from omnia.customers.models import Consent, Customer, Identity, ImportJob, Merge, Tag, TimelineEntry


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0
    fields = ("kind", "value", "raw_value", "display_name", "verified", "channel", "first_seen_at", "last_seen_at")
    readonly_fields = fields


@admin.register(Customer)
class CustomerAdmin(SectionAdmin):
    """Read-only: cards change through the console and API so identity rules, merges and audit hold."""

    section = Section.CUSTOMERS
    read_only = True
    list_display = [
        "__str__",
        "city",
        "orders_count",
        "lifetime_value",
        "last_contact_at",
        "created_source",
        "merged_into",
    ]
    list_filter = ["city", "language", "created_source"]
    search_fields = ["first_name", "last_name", "identities__value", "loyalty_card"]
    inlines = [IdentityInline]


@admin.register(Tag)
class TagAdmin(SectionAdmin):
    section = Section.SETTINGS
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(Consent)
class ConsentAdmin(SectionAdmin):
    section = Section.CUSTOMERS
    read_only = True
    list_display = ["customer", "channel", "purpose", "granted", "at", "source", "method"]
    list_filter = ["purpose", "granted", "channel"]
    list_select_related = ["customer"]


@admin.register(TimelineEntry)
class TimelineEntryAdmin(SectionAdmin):
    section = Section.CUSTOMERS
    read_only = True
    list_display = ["at", "customer", "kind", "channel", "summary"]
    list_filter = ["kind", "channel"]
    list_select_related = ["customer"]


@admin.register(Merge)
class MergeAdmin(SectionAdmin):
    section = Section.AUDIT
    read_only = True
    list_display = ["at", "survivor", "absorbed", "actor", "undone_at"]
    list_select_related = ["survivor", "absorbed", "actor"]


@admin.register(ImportJob)
class ImportJobAdmin(SectionAdmin):
    section = Section.CUSTOMERS
    read_only = True
    list_display = ["created_at", "filename", "status", "total_rows", "created_count", "updated_count", "error_count"]
