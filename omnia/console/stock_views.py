"""Console pages for stock and the catalog: the "endless aisle" search, product pages, location lists,
holds, transfers, receipts, expected supplies and corrections.

Thin: parse the request (stock_forms), check the role, call inventory/customers actions, render. Who
may do what: every role with the Stock section looks; owners, managers and clerks change stock;
operators only look (and may ask to be told when a variant is back, a customer matter); only
managers and owners correct counts.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from omnia.catalog import queries as catalog_queries
from omnia.catalog.errors import ProductNotFound
from omnia.catalog.models import Product, Variant
from omnia.console import stock_forms as forms
from omnia.console.views import section_required
from omnia.core import clock, permissions
from omnia.core.errors import DomainError
from omnia.core.money import format_money
from omnia.core.permissions import Role, Section
from omnia.core.text import search_key
from omnia.customers import actions as customers_actions
from omnia.customers import queries as customers_queries
from omnia.customers.errors import CustomerNotFound
from omnia.customers.models import ChannelKind, Customer
from omnia.inventory import actions as inventory_actions
from omnia.inventory import availability as inventory_availability
from omnia.inventory import queries as inventory_queries
from omnia.inventory.errors import ReservationNotFound, SupplyNotFound, TransferNotFound
from omnia.inventory.models import Location, Reservation, StockLevel, Supply, Transfer

View = Callable[..., HttpResponse]

SEARCH_PAGE = 10
LIST_PAGE = 50
CUSTOMER_CHOICES = 8
CHANGING_ROLES = frozenset({Role.OWNER, Role.MANAGER, Role.CLERK})
ATTRIBUTE_LABELS = {"size": _("Size"), "colour": _("Colour"), "color": _("Colour"), "length": _("Length")}


# --- who may do what ------------------------------------------------------------------------------


def can_change_stock(user: Any) -> bool:
    """Owners, managers and clerks hold, transfer and receive; operators only look."""
    return permissions.can(user, Section.STOCK) and getattr(user, "role", None) in CHANGING_ROLES


def can_correct_stock(user: Any) -> bool:
    return permissions.can(user, Section.STOCK) and getattr(user, "role", None) in inventory_actions.CORRECTING_ROLES


def _refuse(request: HttpRequest) -> HttpResponse:
    return render(request, "console/forbidden.html", status=403)


def _allowed(check: Callable[[Any], bool]) -> Callable[[View], View]:
    """The Stock section, and `check(user)`; otherwise the 403 page."""

    def decorate(view: View) -> View:
        @section_required(Section.STOCK)
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):
                return _refuse(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


changes_stock = _allowed(can_change_stock)
corrects_stock = _allowed(can_correct_stock)


def _roles(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "can_change": can_change_stock(user),
        "can_correct": can_correct_stock(user),
        "my_store": _my_store(request),
        "topics": "stock",
    }


def _my_store(request: HttpRequest) -> Location | None:
    """The clerk's own store (highlighted first everywhere); None for everyone else."""
    user = request.user
    if getattr(user, "role", None) != Role.CLERK:
        return None
    return getattr(user, "store", None)


# --- small shared pieces --------------------------------------------------------------------------


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _next(request: HttpRequest, default: str) -> str:
    """Where to go back to: a `next` on this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _location(value: Any) -> Location | None:
    pk = _int(value)
    return inventory_queries.list_locations().filter(pk=pk).first() if pk is not None else None


def _location_or_404(location_id: int) -> Location:
    location = inventory_queries.list_locations(active_only=False).filter(pk=location_id).first()
    if location is None:
        raise Http404(gettext("No such location."))
    return location


def _variant_or_404(value: Any) -> Variant:
    variant = forms.variant_by_id(value)
    if variant is None:
        raise Http404(gettext("No such variant."))
    return variant


def _query(request: HttpRequest, *drop: str) -> str:
    params = request.GET.copy()
    for name in ("page", *drop):
        params.pop(name, None)
    return params.urlencode()


def _page(request: HttpRequest, queryset: Any, per_page: int = LIST_PAGE) -> Any:
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def _product_name(product: Product) -> str:
    return product.name_in(get_language() or "")


def _attributes(variant: Variant) -> list[dict[str, str]]:
    """[{label, value}] of a variant's size, colour, length…, in the user's language where known."""
    return [
        {"label": str(ATTRIBUTE_LABELS.get(str(key), key)), "value": str(value)}
        for key, value in (variant.attributes or {}).items()
        if value not in ("", None)
    ]


def _price(variant: Variant) -> dict[str, Any]:
    """The one price now; while a promotion runs, the promo price with the regular one and its end."""
    price = catalog_queries.price_now(variant)
    promo = price.price != price.regular_price
    return {
        "now": format_money(price.price, price.currency),
        "regular": format_money(price.regular_price, price.currency) if promo else "",
        "promo_ends": price.promo_ends_at,
    }


def _search_products(text: str) -> tuple[QuerySet[Product], set[int]]:
    """Products for the search box, and the variant a barcode or SKU named exactly.

    A barcode (any of a variant's barcodes) or a whole SKU finds that variant's product alone; else
    every typed word must match (a name in any language, the brand, a SKU start), in any order.
    """
    exact = forms.variant_by_code(text)
    if exact is not None:
        return catalog_queries.search_products().filter(pk=exact.product_id), {exact.pk}
    words = text.split()[:6]
    products = catalog_queries.search_products(words[0] if words else "")
    for word in words[1:]:
        products = products.filter(pk__in=catalog_queries.search_products(word).values("pk"))
    return products.order_by("name", "pk"), set()


# --- lists, narrowed for the pages ----------------------------------------------------------------


def _holds(location: Location | None, status: str) -> QuerySet[Reservation]:
    """Units held for customers (not order, cart or transfer reservations): active, closed or all."""
    qs = inventory_queries.list_reservations(
        location_id=location.pk if location is not None else None,
        owner_kind=Reservation.Owner.HOLD,
        status=Reservation.Status.ACTIVE if status == "active" else "",
    ).select_related("variant__product", "customer", "actor")
    if status == "closed":
        qs = qs.exclude(status=Reservation.Status.ACTIVE)
    return qs.order_by("location__name", "-created_at", "-pk")


def _transfers(location: Location | None, status: str) -> QuerySet[Transfer]:
    """Transfers from or to `location`; "open" is requested or on the way."""
    qs = inventory_queries.list_transfers(
        location_id=location.pk if location is not None else None,
        status=status if status in Transfer.Status.values else "",
    ).select_related("requested_by")
    if status == "open":
        qs = qs.filter(status__in=[Transfer.Status.REQUESTED, Transfer.Status.SHIPPED])
    return qs


def _supplies(location: Location | None, status: str) -> QuerySet[Supply]:
    """Supplies in a status; the expected ones soonest first, the others latest first."""
    status = status if status in Supply.Status.values else Supply.Status.EXPECTED
    qs = inventory_queries.list_supplies(location_id=location.pk if location is not None else None, status=status)
    return qs.order_by("expected_on", "pk") if status == Supply.Status.EXPECTED else qs.order_by("-expected_on", "-pk")


# --- reads inventory.queries does not offer yet (read-only; to move there) --------------------------


def _location_levels(location: Location, text: str, low_only: bool) -> QuerySet[StockLevel]:
    qs = (
        StockLevel.objects.filter(location=location)
        .select_related("variant__product")
        .annotate(free=F("on_hand") - F("reserved"))
    )
    if low_only:
        qs = qs.filter(low_stock_threshold__isnull=False, free__lt=F("low_stock_threshold"))
    else:
        qs = qs.filter(
            Q(on_hand__gt=0) | Q(reserved__gt=0) | Q(in_transit__gt=0) | Q(low_stock_threshold__isnull=False)
        )
    if text:
        by_name = Q()
        for word in search_key(text).split()[:6]:
            by_name &= Q(variant__product__search_text__contains=word)
        qs = qs.filter(by_name | Q(variant__sku__istartswith=text) | Q(variant__barcode=text))
    return qs.order_by("variant__product__name", "variant__sku")


def _level(variant: Variant, location: Location) -> StockLevel | None:
    return inventory_queries.stock_table([variant.pk]).get((variant.pk, location.pk))


# --- the per-location grid of variants ------------------------------------------------------------


def _grid(
    variants: list[Variant],
    *,
    stock: dict[int, list[inventory_availability.LocationStock]],
    my_store: Location | None,
    matched: set[int] | None = None,
) -> list[dict[str, Any]]:
    """Per variant: its price, attributes and every location that has, holds, awaits or ships it.
    `stock` is availability() for these variants (one call for a whole page: two queries)."""
    mine_id = my_store.pk if my_store is not None else None
    rows = []
    for variant in variants:
        places = stock.get(variant.pk, [])
        mine = next((p for p in places if p.location.pk == mine_id), None)
        others = [p for p in places if p is not mine]
        shown = [p for p in others if p.on_hand or p.reserved or p.in_transit or p.next_arrival]
        elsewhere = [p for p in others if p.available > 0]
        rows.append(
            {
                "variant": variant,
                "attributes": _attributes(variant),
                "price": _price(variant),
                "barcodes": catalog_queries.barcodes_of(variant),
                "channel_prices": [
                    {"channel": cp.channel, "price": format_money(cp.price, variant.currency)}
                    for cp in catalog_queries.channel_prices(variant)
                ],
                "mine": mine,
                "places": ([mine] if mine is not None else []) + shown,
                "hidden": len(others) - len(shown),
                "available": sum(p.available for p in places),
                "elsewhere": elsewhere,
                "out_here": mine is not None and mine.available <= 0,
                "matched": variant.pk in (matched or set()),
            }
        )
    return rows


# --- the endless aisle ----------------------------------------------------------------------------


@require_GET
@section_required(Section.STOCK)
def search(request: HttpRequest) -> HttpResponse:
    """One box for a barcode, a SKU or words of a name; every variant's price and stock everywhere."""
    form = forms.SearchForm(request.GET)
    q, city = form.values()
    my_store = _my_store(request)
    products, matched = _search_products(q) if q else (Product.objects.none(), set())
    page = _page(request, products, per_page=SEARCH_PAGE)
    products_here = list(page.object_list)
    stock = inventory_availability.availability(
        [v.pk for product in products_here for v in product.variants.all()], city=city
    )
    results = []
    for product in products_here:
        variants = list(product.variants.all())
        if matched:
            variants.sort(key=lambda v: v.pk not in matched)
        results.append(
            {
                "product": product,
                "name": _product_name(product),
                "image": next(iter(product.images.all()), None),
                "variants": _grid(variants, stock=stock, my_store=my_store, matched=matched),
            }
        )
    context = {
        "form": form,
        "q": q,
        "city": city,
        "page": page,
        "results": results,
        "query": _query(request),
        "here": request.get_full_path(),
        "cities": sorted(set(inventory_queries.list_locations().values_list("city", flat=True))),
        "tab": "search",
        **_roles(request),
    }
    template = "console/stock_results.html" if _htmx(request) else "console/stock.html"
    return render(request, template, context)


# --- product page ---------------------------------------------------------------------------------


def _product_or_404(product_id: int) -> Product:
    try:
        return catalog_queries.get_product(product_id)
    except ProductNotFound as exc:
        raise Http404(gettext("No such product.")) from exc


def _product_page(
    request: HttpRequest, product: Product, notify_form: forms.NotifyForm | None = None, status: int = 200
) -> HttpResponse:
    city = forms.SearchForm(request.GET).values()[1]
    variants = list(product.variants.all())
    stock = inventory_availability.availability([v.pk for v in variants], city=city)
    grid = _grid(variants, stock=stock, my_store=_my_store(request))
    choices = [(row["variant"].pk, _variant_label(row["variant"])) for row in grid]
    if notify_form is None:
        out = next((row["variant"].pk for row in grid if row["out_here"] or row["available"] <= 0), None)
        notify_form = forms.NotifyForm(variants=choices, initial={"variant": out})
    language = get_language() or ""
    return render(
        request,
        "console/product.html",
        {
            "product": product,
            "name": product.name_in(language),
            "description": product.description_in(language),
            "images": list(product.images.all()),
            "variants": grid,
            "city": city,
            "here": request.get_full_path(),
            "notify_form": notify_form,
            **_picker(notify_form),
            "can_notify": permissions.can(request.user, Section.CUSTOMERS),  # type: ignore[arg-type]
            "tab": "search",
            **_roles(request),
        },
        status=status,
    )


def _variant_label(variant: Variant) -> str:
    return f"{variant.sku} — {variant.name}" if variant.name else variant.sku


@require_GET
@section_required(Section.STOCK)
def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    return _product_page(request, _product_or_404(product_id))


@require_POST
@section_required(Section.STOCK)
def product_notify(request: HttpRequest, product_id: int) -> HttpResponse:
    """Ask to tell a customer when a variant is back (at a location or anywhere)."""
    if not permissions.can(request.user, Section.CUSTOMERS):  # type: ignore[arg-type]
        return _refuse(request)
    product = _product_or_404(product_id)
    choices = [(v.pk, _variant_label(v)) for v in product.variants.all()]
    form = forms.NotifyForm(request.POST, variants=choices)
    if form.is_valid():
        variant = next(v for v in product.variants.all() if v.pk == form.cleaned_data["variant"])
        try:
            with transaction.atomic():
                customer = _customer_for(request, form)
                customers_actions.do_request_back_in_stock(
                    actor=request.user, customer=customer, variant=variant, location=form.cleaned_data["location"]
                )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(
                request,
                gettext("%(customer)s will be told when %(sku)s is back.")
                % {"customer": customer.full_name or f"#{customer.pk}", "sku": variant.sku},
            )
            return redirect("console:stock_product", product.pk)
    return _product_page(request, product, notify_form=form, status=422)


# --- customers for holds and back-in-stock requests -----------------------------------------------


@require_GET
@section_required(Section.STOCK)
def customer_choices(request: HttpRequest) -> HttpResponse:
    """The cards matching what is typed (phone in any format, name), to pick one for a hold."""
    if not permissions.can(request.user, Section.CUSTOMERS):  # type: ignore[arg-type]
        return _refuse(request)
    text = " ".join(request.GET.get("customer_q", "").split())[:100]
    found = list(customers_queries.search_customers(text)[:CUSTOMER_CHOICES]) if len(text) >= 2 else []
    return render(request, "console/_stock_customer_choices.html", {"choices": found, "customer_q": text})


def _customer_for(request: HttpRequest, form: forms.CustomerChoiceMixin) -> Customer:
    """The picked card (or the card it was merged into), or the card of the typed phone (made if new)."""
    picked = form.cleaned_data.get("customer")
    if picked:
        customer = customers_queries.get_customer(picked, field="customer")
        while customer.merged_into_id is not None:
            customer = customers_queries.get_customer(customer.merged_into_id, field="customer")
        return customer
    channel = ChannelKind.STORE if getattr(request.user, "role", None) == Role.CLERK else ChannelKind.CONSOLE
    return customers_actions.do_resolve_identity(
        kind="phone", value=form.cleaned_data["phone"], channel=channel, display_name=form.cleaned_data["name"]
    ).customer


def _picker(form: Any) -> dict[str, Any]:
    """The card already picked on a form shown again, so the choice is not lost on an error."""
    value = _int(form["customer"].value()) if form.is_bound else None
    try:
        picked = customers_queries.get_customer(value) if value is not None else None
    except CustomerNotFound:
        picked = None
    return {"picked": picked, "picked_list": [picked] if picked else []}


# --- holds ----------------------------------------------------------------------------------------


@changes_stock
def hold_new(request: HttpRequest) -> HttpResponse:
    """Hold units of a variant at a location for a customer, until a time."""
    data = request.POST if request.method == "POST" else request.GET
    variant = _variant_or_404(data.get("variant"))
    location = _location(data.get("location"))
    if location is None:
        raise Http404(gettext("No such location."))
    back = _next(request, reverse("console:stock_holds"))
    form = forms.ReserveForm(request.POST or None, initial={"expires_at": forms.default_expiry()})
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():  # a new card for the phone is kept only if the hold is made
                customer = _customer_for(request, form)
                hold = inventory_actions.check_reserve(
                    actor=request.user,
                    variant=variant,
                    location=location,
                    quantity=form.cleaned_data["quantity"],
                    owner_kind=Reservation.Owner.HOLD,
                    customer=customer,
                    expires_at=form.cleaned_data["expires_at"] or forms.default_expiry(),
                    note=form.cleaned_data["note"],
                )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(
                request,
                gettext("Held %(quantity)s × %(sku)s at %(location)s for %(customer)s.")
                % {
                    "quantity": hold.quantity,
                    "sku": variant.sku,
                    "location": location.name,
                    "customer": customer.full_name or f"#{customer.pk}",
                },
            )
            return redirect(back)
    level = _level(variant, location)
    return render(
        request,
        "console/stock_hold_form.html",
        {
            "form": form,
            "variant": variant,
            "product_name": _product_name(variant.product),
            "attributes": _attributes(variant),
            "price": _price(variant),
            "location": location,
            "available": level.available if level else 0,
            **_picker(form),
            "next": back,
            "tab": "holds",
            **_roles(request),
        },
        status=422 if form.is_bound else 200,
    )


@require_GET
@section_required(Section.STOCK)
def holds(request: HttpRequest) -> HttpResponse:
    """Units held for customers, per location (the clerk's store first), with release and sold."""
    form = forms.HoldFilterForm(request.GET or None)
    location, status = form.values()
    page = _page(request, _holds(location, status))
    my_store = _my_store(request)
    groups: dict[int, dict[str, Any]] = {}
    for hold in page.object_list:
        group = groups.setdefault(hold.location_id, {"location": hold.location, "holds": []})
        group["holds"].append({"hold": hold, "name": _product_name(hold.variant.product)})
    ordered = sorted(groups.values(), key=lambda g: (my_store is None or g["location"].pk != my_store.pk))
    return render(
        request,
        "console/stock_holds.html",
        {
            "form": form,
            "page": page,
            "groups": ordered,
            "query": _query(request),
            "here": request.get_full_path(),
            "now": clock.now(),
            "tab": "holds",
            **_roles(request),
        },
    )


def _hold_or_404(hold_id: int) -> Reservation:
    """A hold for a customer; other reservations (orders, carts, transfers) are not released here."""
    try:
        hold = inventory_queries.get_reservation(hold_id)
    except ReservationNotFound:
        hold = None
    if hold is None or hold.owner_kind != Reservation.Owner.HOLD:
        raise Http404(gettext("No such hold."))
    return hold


@require_POST
@changes_stock
def hold_release(request: HttpRequest, hold_id: int) -> HttpResponse:
    hold = _hold_or_404(hold_id)
    was_active = hold.status == Reservation.Status.ACTIVE
    hold = inventory_actions.do_release(actor=request.user, reservation=hold, reason="released in the console")
    if was_active:
        messages.success(request, gettext("Released: %(n)s × %(sku)s are available again.") % _hold_facts(hold))
    else:
        messages.error(request, gettext("This hold was already closed."))
    return redirect(_next(request, reverse("console:stock_holds")))


@require_POST
@changes_stock
def hold_consume(request: HttpRequest, hold_id: int) -> HttpResponse:
    hold = _hold_or_404(hold_id)
    try:
        hold = inventory_actions.check_consume(actor=request.user, reservation=hold, reference=f"hold:{hold.pk}")
    except DomainError as exc:
        messages.error(request, forms.error_message(exc))
    else:
        messages.success(request, gettext("Sold: %(n)s × %(sku)s left the stock.") % _hold_facts(hold))
    return redirect(_next(request, reverse("console:stock_holds")))


def _hold_facts(hold: Reservation) -> dict[str, Any]:
    return {"n": hold.quantity, "sku": hold.variant.sku}


# --- transfers ------------------------------------------------------------------------------------


@require_GET
@section_required(Section.STOCK)
def transfers(request: HttpRequest) -> HttpResponse:
    form = forms.TransferFilterForm(request.GET or None)
    location, status = form.values()
    page = _page(request, _transfers(location, status))
    return render(
        request,
        "console/stock_transfers.html",
        {
            "form": form,
            "page": page,
            "query": _query(request),
            "here": request.get_full_path(),
            "tab": "transfers",
            **_roles(request),
        },
    )


@changes_stock
def transfer_new(request: HttpRequest) -> HttpResponse:
    """Ask for units to move from one location to another (by default to the clerk's store)."""
    my_store = _my_store(request)
    initial: dict[str, Any] = {"destination": my_store}
    variant = forms.variant_by_id(request.GET.get("variant"))
    if variant is not None:
        initial["lines"] = forms.lines_text([(variant, _int(request.GET.get("quantity")) or 1)])
    if (source := _location(request.GET.get("source"))) is not None:
        initial["source"] = source
    if (destination := _location(request.GET.get("destination"))) is not None:
        initial["destination"] = destination
    form = forms.TransferForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            transfer = inventory_actions.check_request_transfer(
                actor=request.user,
                source=data["source"],
                destination=data["destination"],
                lines=data["lines"],
                expected_on=data["expected_on"],
                note=data["note"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(
                request,
                gettext("Transfer #%(id)s requested from %(source)s to %(destination)s; the units are set aside.")
                % {"id": transfer.pk, "source": transfer.source.name, "destination": transfer.destination.name},
            )
            return redirect(_next(request, reverse("console:stock_transfers")))
    return render(
        request,
        "console/stock_transfer_form.html",
        {
            "form": form,
            "next": _next(request, ""),
            "tab": "transfers",
            **_roles(request),
        },
        status=422 if form.is_bound else 200,
    )


def _transfer_step(request: HttpRequest, transfer_id: int, step: Callable[..., Transfer], done: str) -> HttpResponse:
    try:
        transfer = inventory_queries.get_transfer(transfer_id)
    except TransferNotFound as exc:
        raise Http404(gettext("No such transfer.")) from exc
    try:
        step(actor=request.user, transfer=transfer)
    except DomainError as exc:
        messages.error(request, forms.error_message(exc))
    else:
        messages.success(request, done % {"id": transfer.pk})
    return redirect(_next(request, reverse("console:stock_transfers")))


@require_POST
@changes_stock
def transfer_ship(request: HttpRequest, transfer_id: int) -> HttpResponse:
    return _transfer_step(
        request, transfer_id, inventory_actions.check_ship_transfer, gettext("Transfer #%(id)s shipped: in transit.")
    )


@require_POST
@changes_stock
def transfer_receive(request: HttpRequest, transfer_id: int) -> HttpResponse:
    return _transfer_step(
        request, transfer_id, inventory_actions.check_receive_transfer, gettext("Transfer #%(id)s received.")
    )


@require_POST
@changes_stock
def transfer_cancel(request: HttpRequest, transfer_id: int) -> HttpResponse:
    return _transfer_step(
        request,
        transfer_id,
        inventory_actions.check_cancel_transfer,
        gettext("Transfer #%(id)s cancelled; the units are available at the source again."),
    )


# --- receipts and expected supplies ---------------------------------------------------------------


@changes_stock
def receipt_new(request: HttpRequest) -> HttpResponse:
    """Goods arrived without an expected supply (a found box, an opening balance)."""
    initial = {"location": _location(request.GET.get("location")) or _my_store(request)}
    form = forms.ReceiptForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            moves = inventory_actions.do_receive(
                actor=request.user,
                location=data["location"],
                lines=data["lines"],
                reference=data["reference"],
                reason=data["reason"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(
                request,
                gettext("Received %(units)s units (%(skus)s SKUs) at %(location)s.")
                % {"units": sum(m.quantity for m in moves), "skus": len(moves), "location": data["location"].name},
            )
            return redirect("console:stock_location", data["location"].pk)
    return render(
        request,
        "console/stock_receipt_form.html",
        {"form": form, "tab": "supplies", **_roles(request)},
        status=422 if form.is_bound else 200,
    )


@require_GET
@section_required(Section.STOCK)
def supplies(request: HttpRequest) -> HttpResponse:
    form = forms.SupplyFilterForm(request.GET or None)
    location, status = form.values()
    page = _page(request, _supplies(location, status))
    return render(
        request,
        "console/stock_supplies.html",
        {
            "form": form,
            "page": page,
            "status": status,
            "query": _query(request),
            "here": request.get_full_path(),
            "tab": "supplies",
            **_roles(request),
        },
    )


@changes_stock
def supply_new(request: HttpRequest) -> HttpResponse:
    """Record an expected delivery; its date becomes the "next arrival" everyone sees."""
    initial = {"location": _location(request.GET.get("location")) or _my_store(request)}
    form = forms.SupplyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            supply = inventory_actions.check_create_supply(
                actor=request.user,
                location=data["location"],
                expected_on=data["expected_on"],
                lines=data["lines"],
                supplier=data["supplier"],
                reference=data["reference"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, gettext("Supply #%(id)s expected at %(location)s.") % {
                "id": supply.pk, "location": supply.location.name,
            })  # fmt: skip
            return redirect("console:stock_supplies")
    return render(
        request,
        "console/stock_supply_form.html",
        {"form": form, "tab": "supplies", **_roles(request)},
        status=422 if form.is_bound else 200,
    )


def _supply_or_404(supply_id: int) -> Supply:
    try:
        return inventory_queries.get_supply(supply_id)
    except SupplyNotFound as exc:
        raise Http404(gettext("No such supply.")) from exc


@require_POST
@changes_stock
def supply_receive(request: HttpRequest, supply_id: int) -> HttpResponse:
    supply = _supply_or_404(supply_id)
    try:
        inventory_actions.check_receive_supply(actor=request.user, supply=supply)
    except DomainError as exc:
        messages.error(request, forms.error_message(exc))
    else:
        messages.success(request, gettext("Supply #%(id)s received: the units are on hand.") % {"id": supply.pk})
    return redirect(_next(request, reverse("console:stock_supplies")))


@require_POST
@changes_stock
def supply_cancel(request: HttpRequest, supply_id: int) -> HttpResponse:
    supply = _supply_or_404(supply_id)
    try:
        inventory_actions.check_cancel_supply(actor=request.user, supply=supply)
    except DomainError as exc:
        messages.error(request, forms.error_message(exc))
    else:
        messages.success(request, gettext("Supply #%(id)s cancelled.") % {"id": supply.pk})
    return redirect(_next(request, reverse("console:stock_supplies")))


# --- corrections ----------------------------------------------------------------------------------


@corrects_stock
def correction_new(request: HttpRequest) -> HttpResponse:
    """A manager sets on-hand after a count (or changes it by some units), always with a reason."""
    initial: dict[str, Any] = {"location": _location(request.GET.get("location"))}
    if (variant := forms.variant_by_id(request.GET.get("variant"))) is not None:
        initial["code"] = variant.sku
    form = forms.CorrectionForm(request.POST or None, initial=initial)
    back = _next(request, "")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            move = inventory_actions.check_correct(
                actor=request.user,
                variant=data["code"],
                location=data["location"],
                counted=data["counted"],
                delta=data["delta"],
                reason=data["reason"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            if move is None:
                messages.info(request, gettext("The count matches the stock: nothing to correct."))
            else:
                messages.success(
                    request,
                    gettext("%(sku)s at %(location)s corrected by %(delta)+d.")
                    % {"sku": data["code"].sku, "location": data["location"].name, "delta": move.quantity},
                )
            return redirect(back or reverse("console:stock_location", args=[data["location"].pk]))
    variant_now = variant if not form.is_bound else forms.variant_by_code(str(form["code"].value() or ""))
    location_now = initial["location"] if not form.is_bound else _location(form["location"].value())
    level = _level(variant_now, location_now) if variant_now and location_now else None
    return render(
        request,
        "console/stock_correction_form.html",
        {
            "form": form,
            "variant": variant_now,
            "location": location_now,
            "level": level,
            "next": back,
            "tab": "locations",
            **_roles(request),
        },
        status=422 if form.is_bound else 200,
    )


# --- locations ------------------------------------------------------------------------------------


@require_GET
@section_required(Section.STOCK)
def locations(request: HttpRequest) -> HttpResponse:
    """Every store and warehouse: SKUs and units in stock, what is held, how many run low."""
    low = {
        row["location_id"]: row["n"]
        for row in StockLevel.objects.filter(low_stock_threshold__isnull=False, location__is_active=True)
        .annotate(free=F("on_hand") - F("reserved"))
        .filter(free__lt=F("low_stock_threshold"))
        .values("location_id")
        .annotate(n=Count("id"))
        .values("location_id", "n")
    }
    my_store = _my_store(request)
    summary = sorted(
        inventory_queries.location_summary(),
        key=lambda s: my_store is None or s["location"].pk != my_store.pk,  # type: ignore[attr-defined]
    )
    for row in summary:
        row["low"] = low.get(row["location"].pk, 0)  # type: ignore[attr-defined]
    return render(request, "console/stock_locations.html", {"summary": summary, "tab": "locations", **_roles(request)})


@require_GET
@section_required(Section.STOCK)
def location_detail(request: HttpRequest, location_id: int) -> HttpResponse:
    """A location's stock list: available, held, on the way, low-stock flags; "low only" filter."""
    location = _location_or_404(location_id)
    form = forms.LocationStockFilterForm(request.GET or None)
    text, low_only = form.values()
    page = _page(request, _location_levels(location, text, low_only))
    rows = [
        {
            "level": level,
            "variant": level.variant,
            "name": _product_name(level.variant.product),
            "low": level.low_stock_threshold is not None and level.available < level.low_stock_threshold,
        }
        for level in page.object_list
    ]
    context = {
        "location": location,
        "form": form,
        "page": page,
        "rows": rows,
        "query": _query(request),
        "here": request.get_full_path(),
        "holds_count": _holds(location, "active").count(),
        "tab": "locations",
        **_roles(request),
    }
    template = "console/_stock_location_rows.html" if _htmx(request) else "console/stock_location.html"
    return render(request, template, context)
