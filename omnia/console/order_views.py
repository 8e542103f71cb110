"""Console pages for the order book: the list (filters, saved views), the order page and its actions.

Thin: parse the request (order_forms), call orders queries/actions, render.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from omnia.console.views import section_required
from omnia.core.permissions import Role, Section
from omnia.orders import queries as orders_queries
from omnia.orders.models import Order, Source
from omnia.orders.queries import OrderNotFound


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _order(pk: int) -> Order:
    try:
        return orders_queries.get_order(pk)
    except OrderNotFound as exc:
        raise Http404(exc.message) from exc


@require_GET
@section_required(Section.ORDERS)
def order_list(request: HttpRequest) -> HttpResponse:
    source = request.GET.get("source", "")
    status = request.GET.get("status", "")
    location_id = None
    user = request.user
    if getattr(user, "role", None) == Role.CLERK and request.GET.get("mine", "1") == "1":
        location_id = user.store_id  # type: ignore[union-attr]
    qs = orders_queries.list_orders(
        source=source if source in Source.values else "",
        status=status if status in Order.Status.values else "",
        location_id=location_id,
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    template = "console/orders_results.html" if _htmx(request) else "console/orders.html"
    context: dict[str, Any] = {
        "page": page,
        "source": source,
        "status": status,
        "sources": Source.choices,
        "statuses": Order.Status.choices,
        "clerk_store": location_id,
        "topics": "orders",
    }
    return render(request, template, context)


@require_GET
@section_required(Section.ORDERS)
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(pk)
    return render(request, "console/order_detail.html", {"order": order, "topics": "orders"})
