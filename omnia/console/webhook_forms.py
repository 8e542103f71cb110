"""Settings → Webhooks forms: an endpoint's name, URL and events (checkboxes). Validation itself is the
webhooks actions'; their errors come back here in the user's language, on the field at fault."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from omnia.core.errors import DomainError
from omnia.webhooks.models import Delivery, EventType

EVENT_HELP: dict[str, Promise] = {
    EventType.ORDER_CREATED: _("An order was placed, from any channel."),
    EventType.ORDER_STATUS_CHANGED: _("Any move of an order's status, with the old and the new status."),
    EventType.ORDER_CANCELLED: _("An order was cancelled, with the reason."),
    EventType.ORDER_PAID: _("The paid payments of an order now cover its total."),
    EventType.ORDER_RETURNED: _("Items of an order were brought back (a return was recorded)."),
}

ERROR_MESSAGES: dict[str, Promise] = {
    "NAME_REQUIRED": _("Name the endpoint: what receives the events (1C, the website…)."),
    "NAME_TOO_LONG": _("A name has at most 100 characters."),
    "URL_REQUIRED": _("Give the URL to send the events to."),
    "URL_INVALID": _("This is not a URL."),
    "URL_SCHEME_INVALID": _("The URL starts with https:// (or http://)."),
    "URL_HOST_INVALID": _("The URL names no host that can be reached."),
    "URL_CREDENTIALS_NOT_ALLOWED": _(
        "Put no user name or password into the URL: the signature proves the request comes from Omnia."
    ),
    "EVENTS_REQUIRED": _("Choose at least one event."),
    "EVENT_TYPE_UNKNOWN": _("Choose events from the list."),
    "WEBHOOK_INACTIVE": _("The endpoint is switched off: switch it on to send to it."),
}

STATUS_FILTERS: list[tuple[str, Any]] = [("", _("All")), *Delivery.Status.choices]


def error_message(exc: DomainError) -> str:
    """The action's error in the user's language when it is a known one."""
    return str(ERROR_MESSAGES.get(exc.code, exc.message))


class EndpointForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What receives the events: 1C, the website…"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    url = forms.CharField(
        label=_("URL"),
        max_length=2000,
        help_text=_("Omnia POSTs each event here as JSON. Use https:// outside your own network."),
        widget=forms.URLInput(attrs={"placeholder": "https://erp.example.kz/hs/omnia/events", "inputmode": "url"}),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )

    def add_domain_error(self, exc: DomainError) -> None:
        field = (exc.field or "").partition("[")[0]
        self.add_error(field if field in self.fields else None, error_message(exc))
