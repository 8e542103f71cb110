"""Back-office (Django admin) access follows the same role table as the console and API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from omnia.core import permissions


class SectionAdmin(admin.ModelAdmin):
    """A ModelAdmin visible to roles that may use `section`; `read_only` forbids every change."""

    section: str = permissions.Section.SETTINGS
    read_only = False

    def _allowed(self, request: HttpRequest) -> bool:
        return permissions.can(request.user, self.section)  # type: ignore[arg-type]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._allowed(request) and not self.read_only

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request) and not self.read_only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request) and not self.read_only
