"""Settings → Delivery: the carriers, each with its zones and tariffs, and the shop-wide rules (one price for
everyone, free from a value, transfer days, default weight); and the order page's Delivery section: the
chosen option, or the options with a Choose button.

Thin: delivery_forms parse, the fulfillment actions validate and write (owners and managers set delivery
up; owners, managers and operators choose an order's delivery). A refusal is shown on the form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from omnia.console import delivery_forms as forms
from omnia.console.views import section_required
from omnia.core import permissions
from omnia.core.errors import DomainError, NotFound
from omnia.core.money import format_money
from omnia.core.permissions import Section
from omnia.fulfillment import actions, queries, quotes
from omnia.fulfillment.models import Carrier, Tariff, Zone
from omnia.orders import actions_delivery
from omnia.orders import queries as orders_queries
from omnia.orders.models import Order
from omnia.orders.queries import OrderNotFound

_NEW_SECRET = "carrier-secret-{}"  # noqa: S105 - a session key: a carrier's new signing secret, shown once


def _tabs(request: HttpRequest) -> dict[str, Any]:
    return {
        "tab": "delivery",
        "can_users": permissions.can(request.user, Section.USERS),  # type: ignore[arg-type]
        "can_audit": permissions.can(request.user, Section.AUDIT),  # type: ignore[arg-type]
    }


def _carrier(carrier_id: int) -> Carrier:
    try:
        return queries.get_carrier(carrier_id)
    except NotFound as exc:
        raise Http404(gettext("No such carrier.")) from exc


def _zone(zone_id: int) -> Zone:
    try:
        return queries.get_zone(zone_id)
    except NotFound as exc:
        raise Http404(gettext("No such delivery zone.")) from exc


def _tariff(tariff_id: int) -> Tariff:
    try:
        return queries.get_tariff(tariff_id)
    except NotFound as exc:
        raise Http404(gettext("No such tariff.")) from exc


def _settings_initial() -> dict[str, Any]:
    current = queries.delivery_settings()
    return {
        "flat_price": current.flat_price,
        "flat_free_from": current.flat_free_from,
        "transfer_days": current.transfer_days,
        "default_weight_grams": current.default_weight_grams,
    }


@section_required(Section.SETTINGS)
def delivery_settings(request: HttpRequest) -> HttpResponse:
    """The carriers and the shop-wide settings form."""
    form = forms.SettingsForm(request.POST or None, initial=_settings_initial())
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.check_update_settings(actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, gettext("Delivery settings are saved."))
                return redirect("console:settings_delivery")
        status = 422
    context = {
        "carriers": list(queries.list_carriers()),
        "settings_form": form,
        "currency": queries.delivery_settings().currency,
        **_tabs(request),
    }
    return render(request, "console/delivery/carriers.html", context, status=status)


def _form_page(
    request: HttpRequest, form: forms.DomainForm, *, title: str, back: str, back_label: str, status: int = 200
) -> HttpResponse:
    context = {"form": form, "title": title, "back": back, "back_label": back_label, **_tabs(request)}
    return render(request, "console/delivery/form.html", context, status=status)


@section_required(Section.SETTINGS)
def carrier_new(request: HttpRequest) -> HttpResponse:
    initial = {"working_days": [0, 1, 2, 3, 4, 5], "is_active": True, "position": 0}
    form = forms.CarrierForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            try:
                values = form.values()
                created = actions.check_create_carrier(
                    actor=request.user, code=values.pop("code"), name=values.pop("name"), **values
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                request.session[_NEW_SECRET.format(created.carrier.pk)] = created.secret
                messages.success(request, gettext("Carrier %(name)s is added.") % {"name": created.carrier.name})
                return redirect("console:settings_delivery_carrier", carrier_id=created.carrier.pk)
        return _form_page(
            request,
            form,
            title=gettext("Add a carrier"),
            back="console:settings_delivery",
            back_label=gettext("Delivery"),
            status=422,
        )
    return _form_page(
        request, form, title=gettext("Add a carrier"), back="console:settings_delivery", back_label=gettext("Delivery")
    )


@require_GET
@section_required(Section.SETTINGS)
def carrier_detail(request: HttpRequest, carrier_id: int) -> HttpResponse:
    return _carrier_page(request, _carrier(carrier_id))


def _carrier_page(
    request: HttpRequest,
    carrier: Carrier,
    *,
    tariff_forms: dict[int, forms.TariffForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    zones = list(carrier.zones.all())
    given = tariff_forms or {}
    context = {
        "carrier": carrier,
        "webhook_url": request.build_absolute_uri(reverse("carrier_webhook", args=[carrier.webhook_key])),
        "new_secret": request.session.pop(_NEW_SECRET.format(carrier.pk), None),
        "zones": [{"zone": zone, "tariff_form": given.get(zone.pk) or forms.TariffForm()} for zone in zones],
        "weekdays": dict(forms.WEEKDAYS),
        **_tabs(request),
    }
    return render(request, "console/delivery/carrier.html", context, status=status)


@section_required(Section.SETTINGS)
def carrier_edit(request: HttpRequest, carrier_id: int) -> HttpResponse:
    carrier = _carrier(carrier_id)
    form = forms.CarrierForm(request.POST or None, initial=forms.CarrierForm.initial_of(carrier))
    title = gettext("Change %(name)s") % {"name": carrier.name}
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.check_update_carrier(actor=request.user, carrier=carrier, **form.values())
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, gettext("Carrier %(name)s is saved.") % {"name": form.cleaned_data["name"]})
                return redirect("console:settings_delivery_carrier", carrier_id=carrier.pk)
        return _form_page(
            request, form, title=title, back="console:settings_delivery", back_label=carrier.name, status=422
        )
    return _form_page(request, form, title=title, back="console:settings_delivery", back_label=carrier.name)


@require_POST
@section_required(Section.SETTINGS)
def carrier_delete(request: HttpRequest, carrier_id: int) -> HttpResponse:
    carrier = _carrier(carrier_id)
    try:
        actions.do_delete_carrier(actor=request.user, carrier=carrier)
    except DomainError as exc:
        messages.error(request, forms.error_message(exc))
        return redirect("console:settings_delivery_carrier", carrier_id=carrier.pk)
    messages.success(request, gettext("Carrier %(name)s is deleted.") % {"name": carrier.name})
    return redirect("console:settings_delivery")


@require_POST
@section_required(Section.SETTINGS)
def carrier_rotate_secret(request: HttpRequest, carrier_id: int) -> HttpResponse:
    carrier = _carrier(carrier_id)
    try:
        secret = actions.do_rotate_carrier_secret(actor=request.user, carrier=carrier)
    except DomainError as exc:
        messages.error(request, forms.error_message(exc))
    else:
        request.session[_NEW_SECRET.format(carrier.pk)] = secret
        messages.success(request, gettext("A new signing secret is made: the old one no longer works."))
    return redirect("console:settings_delivery_carrier", carrier_id=carrier.pk)


@section_required(Section.SETTINGS)
def zone_new(request: HttpRequest, carrier_id: int) -> HttpResponse:
    carrier = _carrier(carrier_id)
    form = forms.ZoneForm(
        request.POST or None,
        initial={"days_min": 1, "days_max": 2, "door_delivery": True, "is_active": True, "position": 0},
    )
    title = gettext("Add a zone to %(name)s") % {"name": carrier.name}
    if request.method == "POST":
        if form.is_valid():
            try:
                zone = actions.check_create_zone(actor=request.user, carrier=carrier, **form.values())
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, gettext("Zone %(name)s is added.") % {"name": zone.name})
                return redirect("console:settings_delivery_carrier", carrier_id=carrier.pk)
        return _zone_form(request, form, title, carrier, status=422)
    return _zone_form(request, form, title, carrier)


def _zone_form(
    request: HttpRequest, form: forms.ZoneForm, title: str, carrier: Carrier, status: int = 200
) -> HttpResponse:
    context = {"form": form, "title": title, "carrier": carrier, **_tabs(request)}
    return render(request, "console/delivery/zone_form.html", context, status=status)


@section_required(Section.SETTINGS)
def zone_edit(request: HttpRequest, zone_id: int) -> HttpResponse:
    zone = _zone(zone_id)
    form = forms.ZoneForm(request.POST or None, initial=forms.ZoneForm.initial_of(zone))
    title = gettext("Change %(name)s") % {"name": zone.name}
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.check_update_zone(actor=request.user, zone=zone, **form.values())
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, gettext("Zone %(name)s is saved.") % {"name": form.cleaned_data["name"]})
                return redirect("console:settings_delivery_carrier", carrier_id=zone.carrier_id)
        return _zone_form(request, form, title, zone.carrier, status=422)
    return _zone_form(request, form, title, zone.carrier)


@require_POST
@section_required(Section.SETTINGS)
def zone_delete(request: HttpRequest, zone_id: int) -> HttpResponse:
    zone = _zone(zone_id)
    actions.do_delete_zone(actor=request.user, zone=zone)
    messages.success(request, gettext("Zone %(name)s is deleted.") % {"name": zone.name})
    return redirect("console:settings_delivery_carrier", carrier_id=zone.carrier_id)


@require_POST
@section_required(Section.SETTINGS)
def tariff_add(request: HttpRequest, zone_id: int) -> HttpResponse:
    zone = _zone(zone_id)
    form = forms.TariffForm(request.POST)
    if form.is_valid():
        try:
            actions.check_create_tariff(actor=request.user, zone=zone, **form.values())
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, gettext("The price is added to %(name)s.") % {"name": zone.name})
            return redirect("console:settings_delivery_carrier", carrier_id=zone.carrier_id)
    return _carrier_page(request, _carrier(zone.carrier_id), tariff_forms={zone.pk: form}, status=422)


@section_required(Section.SETTINGS)
def tariff_edit(request: HttpRequest, tariff_id: int) -> HttpResponse:
    tariff = _tariff(tariff_id)
    initial = {
        "max_weight_grams": tariff.max_weight_grams,
        "min_order_value": tariff.min_order_value,
        "price": tariff.price,
    }
    form = forms.TariffForm(request.POST or None, initial=initial)
    title = gettext("Change a price of %(name)s") % {"name": tariff.zone.name}
    carrier_page = ("console:settings_delivery_carrier", tariff.zone.carrier_id)
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.check_update_tariff(actor=request.user, tariff=tariff, **form.values())
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, gettext("The price is saved."))
                return redirect(carrier_page[0], carrier_id=carrier_page[1])
        context = {"form": form, "title": title, "carrier": tariff.zone.carrier, **_tabs(request)}
        return render(request, "console/delivery/zone_form.html", context, status=422)
    context = {"form": form, "title": title, "carrier": tariff.zone.carrier, **_tabs(request)}
    return render(request, "console/delivery/zone_form.html", context)


@require_POST
@section_required(Section.SETTINGS)
def tariff_delete(request: HttpRequest, tariff_id: int) -> HttpResponse:
    tariff = _tariff(tariff_id)
    actions.do_delete_tariff(actor=request.user, tariff=tariff)
    messages.success(request, gettext("The price is deleted."))
    return redirect("console:settings_delivery_carrier", carrier_id=tariff.zone.carrier_id)


# --- the order page's Delivery section ------------------------------------------------------------------


def _order(pk: int) -> Order:
    try:
        return orders_queries.get_order(pk)
    except OrderNotFound as exc:
        raise Http404(exc.message) from exc


def can_choose(user: Any) -> bool:
    return getattr(user, "role", None) in actions.CHOOSING


@require_GET
@section_required(Section.ORDERS)
def order_delivery(request: HttpRequest, pk: int) -> HttpResponse:
    """The order page's Delivery section (loaded into the page): the choice, and the options to change it."""
    order = _order(pk)
    choice = queries.get_choice(order.pk)
    open_ = actions_delivery.delivery_open(order)
    quote = quotes.quote_order(order) if open_ else None
    context = {
        "order": order,
        "choice": choice,
        "choice_price": format_money(choice.price, choice.currency) if choice else "",
        "delivery_price": format_money(order.delivery_price, order.currency),
        "quote": quote,
        "options": [
            {
                "option": option,
                "price": format_money(option.price, option.currency),
                "chosen": _is_chosen(option, choice),
            }
            for option in (quote.options if quote else [])
        ],
        "can_choose": open_ and can_choose(request.user),
        "open": open_,
    }
    return render(request, "console/delivery/_order_delivery_body.html", context)


def _is_chosen(option: quotes.Option, choice: Any) -> bool:
    if choice is None or option.kind != choice.kind:
        return False
    if option.kind == "store_pickup":
        return option.location is not None and option.location.pk == choice.location_id
    if option.kind == "pickup_point":
        return (
            option.zone is not None
            and option.zone.pk == choice.zone_id
            and (option.pickup_point.get("code") == (choice.pickup_point or {}).get("code"))
        )
    return option.zone is not None and option.zone.pk == choice.zone_id


@require_POST
@section_required(Section.ORDERS)
def order_delivery_choose(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(pk)
    form = forms.ChooseForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Choose one of the delivery options."))
        return redirect("console:order_detail", order.pk)
    try:
        choice = actions.check_choose_delivery(actor=request.user, order=order, option_key=form.cleaned_data["option"])
    except DomainError as exc:
        messages.error(request, forms.error_message(exc))
        return redirect("console:order_detail", order.pk)
    messages.success(
        request,
        gettext("Delivery of %(number)s: %(kind)s, %(price)s.")
        % {
            "number": order.number,
            "kind": choice.get_kind_display(),
            "price": format_money(choice.price, choice.currency),
        },
    )
    return redirect("console:order_detail", order.pk)
