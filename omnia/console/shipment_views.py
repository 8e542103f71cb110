"""Console pages for shipments: the list of delivery orders' shipments with their parcels, and a shipment's page
(its lines, the printable label, the tracking history, and the forms to create the parcel, set its tracking
number and move it). Thin: parse (shipment_forms), call fulfillment's actions and queries, render.

Everyone with the Orders section sees and works them (as they move the order's shipments on the order page);
the rejected tracking calls are for those with Settings.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from omnia.console import shipment_forms as forms
from omnia.console.views import section_required
from omnia.core import permissions
from omnia.core.errors import DomainError
from omnia.core.permissions import Section
from omnia.fulfillment import actions_parcels, queries, queries_parcels
from omnia.fulfillment.models import Parcel
from omnia.orders.models import Shipment

PAGE = 50


def _row(shipment: Shipment) -> dict[str, Any]:
    parcel = _parcel_of(shipment)
    return {
        "shipment": shipment,
        "order": shipment.order,
        "parcel": parcel,
        "tracking_link": queries_parcels.tracking_link(parcel) if parcel is not None else "",
        "late": parcel is not None and queries_parcels.is_late(parcel),
    }


def _parcel_of(shipment: Shipment) -> Parcel | None:
    try:
        return shipment.parcel
    except Parcel.DoesNotExist:
        return None


@require_GET
@section_required(Section.ORDERS)
def shipment_list(request: HttpRequest) -> HttpResponse:
    form = forms.ShipmentFilterForm(request.GET or None)
    shipments = queries_parcels.list_shipments(form.filters())
    page = Paginator(shipments, PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "console/shipments/list.html",
        {
            "form": form,
            "page": page,
            "rows": [_row(s) for s in page.object_list],
            "query": query.urlencode(),
            "can_see_rejections": permissions.can(request.user, Section.SETTINGS),  # type: ignore[arg-type]
            "topics": "orders",
        },
    )


def _shipment(shipment_id: int) -> Shipment:
    try:
        return queries_parcels.get_delivery_shipment(shipment_id)
    except queries_parcels.ShipmentNotFound as exc:
        raise Http404(exc.message) from exc


def _context(shipment: Shipment, **forms_given: Any) -> dict[str, Any]:
    parcel = queries_parcels.parcel_of(shipment)
    order = shipment.order
    lines = order.lines.filter(location_id=shipment.location_id).select_related("variant").order_by("id")
    moves = [(to, Parcel.Status(to).label) for to in actions_parcels.allowed_moves(parcel)] if parcel else []
    tracking_initial = (
        {
            "tracking_number": parcel.tracking_number,
            "estimated_on": parcel.estimated_on,
            "weight_grams": parcel.weight_grams,
        }
        if parcel
        else {}
    )
    choice = queries.get_choice(order.pk)
    parcel_initial = (
        {"carrier": choice.carrier.code if choice.carrier else None, "estimated_on": choice.estimated_to}
        if choice is not None
        else {}
    )
    return {
        "shipment": shipment,
        "order": order,
        "parcel": parcel,
        "lines": lines,
        "label": parcel.label if parcel else actions_parcels.label_for(order, shipment),
        "events": list(queries_parcels.parcel_events(parcel)) if parcel else [],
        "tracking_link": queries_parcels.tracking_link(parcel) if parcel else "",
        "late": parcel is not None and queries_parcels.is_late(parcel),
        "moves": moves,
        "can_create": parcel is None and shipment.status != Shipment.Status.CANCELLED,
        "choice": choice,
        "parcel_form": forms_given.get("parcel_form") or forms.ParcelForm(initial=parcel_initial),
        "tracking_form": forms_given.get("tracking_form") or forms.TrackingForm(initial=tracking_initial),
        "move_form": forms_given.get("move_form") or forms.MoveForm(),
        "topics": "orders",
    }


@require_GET
@section_required(Section.ORDERS)
def shipment_detail(request: HttpRequest, shipment_id: int) -> HttpResponse:
    return render(request, "console/shipments/detail.html", _context(_shipment(shipment_id)))


def _refused(request: HttpRequest, shipment_id: int, **forms_given: Any) -> HttpResponse:
    shipment = _shipment(shipment_id)  # as it is now: nothing was changed
    return render(request, "console/shipments/detail.html", _context(shipment, **forms_given), status=422)


def _back(shipment: Shipment) -> HttpResponse:
    return redirect("console:shipments_detail", shipment.pk)


@require_POST
@section_required(Section.ORDERS)
def shipment_parcel_create(request: HttpRequest, shipment_id: int) -> HttpResponse:
    shipment = _shipment(shipment_id)
    form = forms.ParcelForm(request.POST)
    if not form.is_valid():
        return _refused(request, shipment_id, parcel_form=form)
    data = form.cleaned_data
    try:
        parcel = actions_parcels.check_create_parcel(
            actor=request.user,
            shipment=shipment,
            carrier=data["carrier"],
            tracking_number=data["tracking_number"],
            weight_grams=data["weight_grams"],
            estimated_on=data["estimated_on"],
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        return _refused(request, shipment_id, parcel_form=form)
    messages.success(request, gettext("Parcel created for %(carrier)s.") % {"carrier": parcel.carrier.name})
    return _back(shipment)


def _parcel(shipment: Shipment) -> Parcel:
    parcel = queries_parcels.parcel_of(shipment)
    if parcel is None:
        raise Http404("This shipment has no parcel.")
    return parcel


@require_POST
@section_required(Section.ORDERS)
def shipment_parcel_update(request: HttpRequest, shipment_id: int) -> HttpResponse:
    shipment = _shipment(shipment_id)
    parcel = _parcel(shipment)
    form = forms.TrackingForm(request.POST)
    if not form.is_valid():
        return _refused(request, shipment_id, tracking_form=form)
    data = form.cleaned_data
    try:
        actions_parcels.check_update_parcel(
            actor=request.user,
            parcel=parcel,
            tracking_number=data["tracking_number"],
            estimated_on=data["estimated_on"],
            clear_estimate=data["estimated_on"] is None,
            weight_grams=data["weight_grams"],
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        return _refused(request, shipment_id, tracking_form=form)
    messages.success(request, gettext("Parcel saved."))
    return _back(shipment)


@require_POST
@section_required(Section.ORDERS)
def shipment_parcel_move(request: HttpRequest, shipment_id: int) -> HttpResponse:
    shipment = _shipment(shipment_id)
    parcel = _parcel(shipment)
    form = forms.MoveForm(request.POST)
    if not form.is_valid():
        return _refused(request, shipment_id, move_form=form)
    to = form.cleaned_data["to"]
    try:
        actions_parcels.check_move_parcel(
            actor=request.user, parcel=parcel, to=to, description=form.cleaned_data["description"]
        )
    except actions_parcels.ParcelTransitionNotAllowed as exc:
        form.add_domain_error(exc)
        return _refused(request, shipment_id, move_form=form)
    except DomainError as exc:  # the order's rules refused its shipment's move (an order not yet confirmed)
        form.add_error(None, gettext("The order's shipment cannot follow: %(reason)s") % {"reason": exc.message})
        return _refused(request, shipment_id, move_form=form)
    messages.success(request, gettext("The parcel is now %(status)s.") % {"status": Parcel.Status(to).label})
    return _back(shipment)


@require_GET
@section_required(Section.SETTINGS)
def shipment_rejections(request: HttpRequest) -> HttpResponse:
    return render(
        request, "console/shipments/rejections.html", {"rejections": queries_parcels.recent_rejections(limit=100)}
    )
