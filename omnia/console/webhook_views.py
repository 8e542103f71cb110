"""Settings → Webhooks: endpoints that integrations (1C, the website) receive signed order events at,
their health, and each endpoint's delivery log with redelivery and a test event.

Owners and managers only (Section.SETTINGS). Thin: webhook_forms parses the input; every change goes
through omnia.webhooks.actions, which validate it and write the audit log. The signing secret is shown
once after creation or rotation; later only on an explicit, audited "Reveal".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from omnia.console import webhook_forms as forms
from omnia.console.views import section_required
from omnia.core import permissions
from omnia.core.errors import DomainError
from omnia.core.permissions import Section
from omnia.webhooks import actions as webhooks_actions
from omnia.webhooks import queries as webhooks_queries
from omnia.webhooks import signing
from omnia.webhooks.errors import DeliveryNotFound, EndpointNotFound
from omnia.webhooks.models import Delivery, Endpoint, EventType

LOG_PAGE = 50
_NEW_SECRET = "webhook-secret-{}"  # noqa: S105 - a session key: the secret of a just-created endpoint, shown once


@dataclass(frozen=True)
class LogRow:
    delivery: Delivery
    payload: str
    attempts: list[Any]
    open: bool


def _settings_tabs(request: HttpRequest) -> dict[str, Any]:
    return {
        "tab": "webhooks",
        "can_users": permissions.can(request.user, Section.USERS),  # type: ignore[arg-type]
        "can_audit": permissions.can(request.user, Section.AUDIT),  # type: ignore[arg-type]
    }


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _endpoint(webhook_id: int) -> Endpoint:
    try:
        return webhooks_queries.get_endpoint(webhook_id)
    except EndpointNotFound as exc:
        raise Http404(gettext("No such webhook endpoint.")) from exc


def _delivery(endpoint: Endpoint, delivery_id: int) -> Delivery:
    try:
        return webhooks_queries.get_delivery(endpoint, delivery_id)
    except DeliveryNotFound as exc:
        raise Http404(gettext("No such delivery.")) from exc


def _event_labels() -> dict[str, str]:
    return {str(value): str(label) for value, label in EventType.choices} | {"ping": gettext("Test event")}


@section_required(Section.SETTINGS)
def webhook_list(request: HttpRequest) -> HttpResponse:
    endpoints = list(webhooks_queries.list_endpoints())
    for endpoint in endpoints:
        endpoint.health = webhooks_queries.health(endpoint)  # type: ignore[attr-defined]
    context = {"endpoints": endpoints, "event_labels": _event_labels(), **_settings_tabs(request)}
    return render(request, "console/webhooks.html", context)


def _render_form(
    request: HttpRequest, form: forms.EndpointForm, endpoint: Endpoint | None, status: int = 200
) -> HttpResponse:
    context = {"form": form, "endpoint": endpoint, "event_help": forms.EVENT_HELP, **_settings_tabs(request)}
    return render(request, "console/webhook_form.html", context, status=status)


@section_required(Section.SETTINGS)
def webhook_create(request: HttpRequest) -> HttpResponse:
    form = forms.EndpointForm(request.POST or None, initial={"events": [EventType.ORDER_CREATED]})
    if request.method == "POST":
        if form.is_valid():
            try:
                created = webhooks_actions.check_create_endpoint(actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                request.session[_NEW_SECRET.format(created.endpoint.pk)] = created.secret
                messages.success(request, gettext("Endpoint %(name)s is added.") % {"name": created.endpoint.name})
                return redirect("console:settings_webhook", webhook_id=created.endpoint.pk)
        return _render_form(request, form, None, status=422)
    return _render_form(request, form, None)


@section_required(Section.SETTINGS)
def webhook_edit(request: HttpRequest, webhook_id: int) -> HttpResponse:
    endpoint = _endpoint(webhook_id)
    initial = {"name": endpoint.name, "url": endpoint.url, "events": endpoint.events}
    form = forms.EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            try:
                webhooks_actions.check_update_endpoint(actor=request.user, endpoint=endpoint, **form.cleaned_data)
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, gettext("Endpoint %(name)s is saved.") % {"name": form.cleaned_data["name"]})
                return redirect("console:settings_webhook", webhook_id=endpoint.pk)
        return _render_form(request, form, endpoint, status=422)
    return _render_form(request, form, endpoint)


def _log(request: HttpRequest, endpoint: Endpoint) -> dict[str, Any]:
    status = request.GET.get("status", "")
    if status not in Delivery.Status.values:
        status = ""
    qs = webhooks_queries.list_deliveries(endpoint, status=status)
    before = request.GET.get("before", "")
    if before.isdigit():
        qs = qs.filter(pk__lt=int(before))
    deliveries = list(qs[: LOG_PAGE + 1])
    more = len(deliveries) > LOG_PAGE
    deliveries = deliveries[:LOG_PAGE]
    opened = request.GET.get("open", "")
    rows = [
        LogRow(
            delivery=d,
            payload=json.dumps(d.payload, indent=2, ensure_ascii=False),
            attempts=list(d.attempt_log.all()),
            open=str(d.pk) == opened,
        )
        for d in deliveries
    ]
    return {
        "endpoint": endpoint,
        "rows": rows,
        "status": status,
        "statuses": [(value, str(label)) for value, label in forms.STATUS_FILTERS],
        "older": deliveries[-1].pk if more and deliveries else None,
        "busy": any(d.status == Delivery.Status.PENDING for d in deliveries),
        "health": webhooks_queries.health(endpoint),
        "event_labels": _event_labels(),
    }


@section_required(Section.SETTINGS)
def webhook_detail(request: HttpRequest, webhook_id: int) -> HttpResponse:
    endpoint = _endpoint(webhook_id)
    context = {
        **_log(request, endpoint),
        "new_secret": request.session.pop(_NEW_SECRET.format(endpoint.pk), None),
        "headers": {
            "id": signing.ID_HEADER,
            "timestamp": signing.TIMESTAMP_HEADER,
            "signature": signing.SIGNATURE_HEADER,
        },
        **_settings_tabs(request),
    }
    return render(request, "console/webhook_detail.html", context)


@section_required(Section.SETTINGS)
def webhook_deliveries(request: HttpRequest, webhook_id: int) -> HttpResponse:
    """The delivery log alone (htmx: filter, older page, refresh while something is pending)."""
    endpoint = _endpoint(webhook_id)
    if not _htmx(request):
        url = reverse("console:settings_webhook", args=[endpoint.pk])
        return redirect(f"{url}?{request.GET.urlencode()}" if request.GET else url)
    return render(request, "console/_webhook_deliveries.html", {**_log(request, endpoint), "oob": True})


@require_POST
@section_required(Section.SETTINGS)
def webhook_redeliver(request: HttpRequest, webhook_id: int, delivery_id: int) -> HttpResponse:
    endpoint = _endpoint(webhook_id)
    delivery = _delivery(endpoint, delivery_id)
    try:
        webhooks_actions.check_redeliver(actor=request.user, delivery=delivery)
    except DomainError as exc:
        text, ok = forms.error_message(exc), False
    else:
        text, ok = gettext("The event is being sent again: the log below shows how it went."), True
    if _htmx(request):
        context = {**_log(request, endpoint), "flash": text, "flash_ok": ok, "oob": True}
        return render(request, "console/_webhook_deliveries.html", context)
    (messages.success if ok else messages.error)(request, text)
    return redirect("console:settings_webhook", webhook_id=endpoint.pk)


@require_POST
@section_required(Section.SETTINGS)
def webhook_ping(request: HttpRequest, webhook_id: int) -> HttpResponse:
    endpoint = _endpoint(webhook_id)
    try:
        webhooks_actions.check_ping(actor=request.user, endpoint=endpoint)
    except DomainError as exc:
        messages.error(request, forms.error_message(exc))
    else:
        messages.success(request, gettext("A test event is on its way: its outcome appears in the log below."))
    return redirect("console:settings_webhook", webhook_id=endpoint.pk)


@require_POST
@section_required(Section.SETTINGS)
def webhook_switch(request: HttpRequest, webhook_id: int) -> HttpResponse:
    endpoint = _endpoint(webhook_id)
    on = request.POST.get("on") == "1"
    endpoint = webhooks_actions.check_update_endpoint(actor=request.user, endpoint=endpoint, is_active=on)
    if on:
        messages.success(
            request, gettext("%(name)s is switched on: new events are sent to it.") % {"name": endpoint.name}
        )
    else:
        text = gettext("%(name)s is switched off: no events are sent to it until it is switched on again.")
        messages.success(request, text % {"name": endpoint.name})
    if request.POST.get("back") == "list":
        return redirect(f"{reverse('console:settings_webhooks')}#webhook-{endpoint.pk}")
    return redirect("console:settings_webhook", webhook_id=endpoint.pk)


@require_POST
@section_required(Section.SETTINGS)
def webhook_delete(request: HttpRequest, webhook_id: int) -> HttpResponse:
    endpoint = _endpoint(webhook_id)
    webhooks_actions.do_delete_endpoint(actor=request.user, endpoint=endpoint)
    messages.success(request, gettext("%(name)s is deleted with its delivery log.") % {"name": endpoint.name})
    return redirect("console:settings_webhooks")


def _secret(request: HttpRequest, endpoint: Endpoint, *, secret: str, rotated: bool) -> HttpResponse:
    context = {"endpoint": endpoint, "secret": secret, "rotated": rotated}
    if _htmx(request):
        return render(request, "console/_webhook_secret.html", context)
    return render(
        request,
        "console/webhook_detail.html",
        {
            **_log(request, endpoint),
            "shown_secret": secret,
            "rotated": rotated,
            **_settings_tabs(request),
        },
    )


@require_POST
@section_required(Section.SETTINGS)
def webhook_reveal_secret(request: HttpRequest, webhook_id: int) -> HttpResponse:
    endpoint = _endpoint(webhook_id)
    try:
        secret = webhooks_actions.do_reveal_secret(actor=request.user, endpoint=endpoint)
    except ValueError:
        messages.error(
            request,
            gettext(
                "The secret cannot be read: it was stored with another OMNIA_SECRET_KEY. Rotate it to get a new one."
            ),
        )
        return redirect("console:settings_webhook", webhook_id=endpoint.pk)
    return _secret(request, endpoint, secret=secret, rotated=False)


@require_POST
@section_required(Section.SETTINGS)
def webhook_rotate_secret(request: HttpRequest, webhook_id: int) -> HttpResponse:
    endpoint = _endpoint(webhook_id)
    secret = webhooks_actions.do_rotate_secret(actor=request.user, endpoint=endpoint)
    return _secret(request, endpoint, secret=secret, rotated=True)
