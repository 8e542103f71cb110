from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from omnia.core import permissions
from omnia.core.permissions import Section

NAVIGATION = [
    (Section.INBOX, _("Inbox"), "console:inbox", "inbox"),
    (Section.CUSTOMERS, _("Customers"), "console:customers", "users"),
    (Section.ORDERS, _("Orders"), "console:orders", "receipt"),
    (Section.ORDERS, _("Shipments"), "console:shipments", "truck"),
    (Section.ORDERS, _("Store terminal"), "console:terminal", "cart"),
    (Section.STOCK, _("Stock"), "console:stock", "boxes"),
    (Section.ANALYTICS, _("Analytics"), "console:analytics", "chart"),
    (Section.SETTINGS, _("Settings"), "console:settings", "gear"),
]


def navigation_for(user: Any) -> list[dict[str, Any]]:
    return [
        {"section": url_name.removeprefix("console:"), "label": label, "url": reverse(url_name), "icon": icon}
        for section, label, url_name, icon in NAVIGATION
        if permissions.can(user, section)
    ]


def console(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    url_name = getattr(match, "url_name", "") or ""
    items = navigation_for(user)
    active = next((i["section"] for i in items if url_name.startswith(i["section"])), "")
    if url_name.startswith("customer"):
        active = "customers"
    return {"nav_items": items, "active_section": active}
