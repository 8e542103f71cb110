"""Back office: notifications with their tries, the shop's rules and texts — read-only (the rules and the
texts are changed in Settings, where the actions validate them and write the audit log; a notification
is sent again from the order page or the customer card)."""

from __future__ import annotations

from django.contrib import admin

from omnia.core.admin_base import SectionAdmin
from omnia.core.permissions import Section
from omnia.notifications.models import Attempt, Notification, Settings, Template


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ("channel", "status", "error", "message", "text", "created_at", "check_at")
    readonly_fields = ("channel", "status", "error", "message", "text", "created_at", "check_at")

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(SectionAdmin):
    section = Section.CUSTOMERS
    read_only = True
    list_display = ["key", "event", "customer", "order", "status", "channel", "due_at", "created_at"]
    list_filter = ["event", "status", "channel", "purpose"]
    search_fields = ["key", "order__number"]
    raw_id_fields = ["customer", "order"]
    date_hierarchy = "created_at"
    inlines = [AttemptInline]


@admin.register(Settings)
class SettingsAdmin(SectionAdmin):
    read_only = True
    list_display = ["fallback_chain", "quiet_start", "quiet_end", "undelivered_minutes", "updated_at"]


@admin.register(Template)
class TemplateAdmin(SectionAdmin):
    read_only = True
    list_display = ["event", "channel", "language", "is_active", "updated_at"]
    list_filter = ["event", "channel", "language", "is_active"]
