from __future__ import annotations

from django.contrib import admin

from omnia.accounts.models import ApiToken, User
from omnia.core.admin_base import SectionAdmin
from omnia.core.permissions import Section


@admin.register(User)
class UserAdmin(SectionAdmin):
    """Read-only here: users are created and changed in Settings → Users so every change is audited."""

    section = Section.USERS
    read_only = True
    list_display = ["email", "first_name", "last_name", "role", "store", "is_active", "last_login"]
    list_filter = ["role", "is_active", "store"]
    search_fields = ["email", "first_name", "last_name"]
    exclude = ["password", "user_permissions", "groups"]


@admin.register(ApiToken)
class ApiTokenAdmin(SectionAdmin):
    section = Section.USERS
    read_only = True
    list_display = ["name", "prefix", "role", "created_at", "last_used_at", "revoked_at"]
    exclude = ["key_hash"]
