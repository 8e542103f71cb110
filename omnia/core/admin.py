from django.contrib import admin

from omnia.core.admin_base import SectionAdmin
from omnia.core.models import AuditEntry
from omnia.core.permissions import Section


@admin.register(AuditEntry)
class AuditEntryAdmin(SectionAdmin):
    section = Section.AUDIT
    read_only = True
    list_display = ["at", "actor_label", "action", "target_repr"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_label", "target_repr", "action"]
    date_hierarchy = "at"
