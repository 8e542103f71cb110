"""Console pages for customers: the list and search, the card, edit, merge, duplicates.

Thin: parse the request (customer_forms), call customers queries/actions, render. The import pages
live in their own module.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from omnia.console import customer_forms as forms
from omnia.console.views import section_required
from omnia.core import permissions
from omnia.core.errors import DomainError
from omnia.core.money import format_money
from omnia.core.permissions import Section
from omnia.customers import actions as customers_actions
from omnia.customers import queries as customers_queries
from omnia.customers.actions.merge import FILLED_FIELDS
from omnia.customers.errors import CustomerNotFound, MergeNotFound
from omnia.customers.models import ChannelKind, Consent, Customer, Merge
from omnia.orders import queries as orders_queries

TIMELINE_PAGE = 20
RECENT_ORDERS = 10
MERGE_CANDIDATES = 20
CHANNEL_LABELS: dict[str, Any] = {**dict(ChannelKind.choices), Consent.ANY_CHANNEL: _("Every channel")}


# --- small shared pieces -------------------------------------------------------------------------


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _money(amount: Any, currency: str | None = None) -> str:
    return format_money(amount, currency or str(settings.OMNIA_CURRENCY))


def _channel_label(value: str) -> str:
    return str(CHANNEL_LABELS.get(value, value))


def _customer(customer_id: int) -> Customer:
    try:
        return customers_queries.get_customer(customer_id)
    except CustomerNotFound as exc:
        raise Http404(exc.message) from exc


def _survivor(request: HttpRequest, customer: Customer) -> Customer:
    """The card that holds `customer` now: itself, or the card it was merged into (with a message)."""
    merged = customer
    while customer.merged_into_id is not None:
        customer = _customer(customer.merged_into_id)
    if merged.pk != customer.pk:
        messages.info(
            request,
            gettext("Card #%(merged)s was merged into this one (#%(survivor)s).")
            % {"merged": merged.pk, "survivor": customer.pk},
        )
    return customer


def _to_card(customer: Customer | int) -> HttpResponse:
    return redirect("console:customer", customer if isinstance(customer, int) else customer.pk)


def _query(request: HttpRequest, *drop: str) -> str:
    params = request.GET.copy()
    for name in ("page", *drop):
        params.pop(name, None)
    return params.urlencode()


# --- the list ------------------------------------------------------------------------------------


def _exact_match(text: str) -> int | None:
    """The one card a phone, e-mail, loyalty card or order number typed in full belongs to."""
    if not text or not ("@" in text or any(ch.isdigit() for ch in text)):
        return None
    ids = customers_queries.active_customers().filter(pk__in=customers_queries.exact_match_ids(" ".join(text.split())))
    found = list(ids.values_list("pk", flat=True)[:2])
    return found[0] if len(found) == 1 else None


@require_GET
@section_required(Section.CUSTOMERS)
def customer_list(request: HttpRequest) -> HttpResponse:
    form = forms.CustomerFilterForm(request.GET)
    q = form.text()
    if not _htmx(request) and request.GET.get("go") and (found := _exact_match(q)) is not None:
        return _to_card(found)
    page = Paginator(customers_queries.list_customers(q, form.filters()), 50).get_page(request.GET.get("page"))
    rows = [{"customer": c, "ltv": _money(c.lifetime_value)} for c in page.object_list]
    template = "console/customers_results.html" if _htmx(request) else "console/customers.html"
    return render(
        request,
        template,
        {
            "page": page,
            "rows": rows,
            "form": form,
            "q": q,
            "query": _query(request, "go"),
            "can_import": permissions.can(request.user, Section.IMPORTS),  # type: ignore[arg-type]
            "topics": "customers",
        },
    )


@section_required(Section.CUSTOMERS)
def customer_new(request: HttpRequest) -> HttpResponse:
    form = forms.CustomerCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customers_actions.check_create_customer(
                actor=request.user,
                identities=form.identities(),
                tags=forms.split_list(form.cleaned_data["tags"]),
                **form.fields_for_action(),
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, gettext("Customer card created."))
            return _to_card(customer)
    return render(request, "console/customer_new.html", {"form": form, "topics": "customers"})


# --- the card ------------------------------------------------------------------------------------


def describe(entry: Any) -> str:
    """An entry's summary in the operator's language, from its structured data where it has it."""
    data = entry.data or {}
    if entry.kind == "order" and {"number", "total", "currency"} <= set(data):
        return gettext("Order %(number)s: %(total)s") % {
            "number": data["number"],
            "total": _money(Decimal(data["total"]), data["currency"]),
        }
    if entry.kind == "return" and {"number", "total", "currency"} <= set(data):
        return gettext("Order %(number)s returned: %(total)s refunded") % {
            "number": data["number"],
            "total": _money(Decimal(data["total"]), data["currency"]),
        }
    if entry.kind == "consent" and {"purpose", "channel", "granted"} <= set(data):
        purpose = str(Consent.Purpose(data["purpose"]).label) if data["purpose"] in Consent.Purpose.values else ""
        channel = (
            gettext("every channel") if data["channel"] == Consent.ANY_CHANNEL else _channel_label(data["channel"])
        )
        text = (
            gettext("%(purpose)s via %(channel)s: granted")
            if data["granted"]
            else gettext("%(purpose)s via %(channel)s: withdrawn")
        )
        result = text % {"purpose": purpose, "channel": channel}
        return f"{result} ({data['method']})" if data.get("method") else result
    if entry.kind == "merge" and "absorbed_id" in data:
        return gettext("Card #%(id)s (%(name)s) was merged into this one") % {
            "id": data["absorbed_id"],
            "name": data.get("absorbed_name") or "—",
        }
    return str(entry.summary)


def _timeline(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    filters = forms.TimelineFilterForm(request.GET or None)
    kind, channel = filters.values()
    page = Paginator(customers_queries.timeline(customer, kind=kind, channel=channel), TIMELINE_PAGE).get_page(
        request.GET.get("page")
    )
    return {
        "timeline_form": filters if filters.is_bound else forms.TimelineFilterForm(),
        "timeline_page": page,
        "timeline_rows": [
            {"entry": e, "channel": _channel_label(e.channel), "summary": describe(e)} for e in page.object_list
        ],
        "timeline_query": urlencode({"kind": kind, "channel": channel}),
    }


def _consent_rows(customer: Customer) -> list[dict[str, Any]]:
    return [{"consent": c, "channel": _channel_label(c.channel)} for c in customers_queries.consents_in_force(customer)]


def _card(request: HttpRequest, customer: Customer, **panel_forms: Any) -> HttpResponse:
    orders = orders_queries.list_orders(customer_id=customer.pk)[:RECENT_ORDERS]
    context = {
        "customer": customer,
        "ltv": _money(customer.lifetime_value),
        "created_source": _channel_label(customer.created_source),
        "consents": _consent_rows(customer),
        "orders": [{"order": o, "total": _money(o.total, o.currency)} for o in orders],
        "merges": customers_queries.merges_of(customer),
        "edit_form": None,
        "identity_form": forms.IdentityForm(),
        "address_form": forms.AddressForm(),
        "preferences_form": forms.PreferencesForm(initial=forms.PreferencesForm.initial_for(customer)),
        "consent_form": forms.ConsentForm(),
        "note_form": forms.NoteForm(),
        "topics": "customers",
        **_timeline(request, customer),
        **panel_forms,
    }
    return render(request, "console/customer_detail.html", context)


@require_GET
@section_required(Section.CUSTOMERS)
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer(customer_id)
    if customer.is_merged:
        return _to_card(_survivor(request, customer))
    return _card(request, customer)


@require_GET
@section_required(Section.CUSTOMERS)
def customer_timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The timeline block (filters applied), or with `more` just the next page's entries to append."""
    customer = _customer(customer_id)
    if not _htmx(request):
        return redirect(f"{reverse('console:customer', args=[customer.pk])}?{_query(request, 'more')}#timeline")
    template = "console/_customer_timeline_items.html" if request.GET.get("more") else "console/_customer_timeline.html"
    return render(request, template, {"customer": customer, **_timeline(request, customer)})


def _panel_post(
    request: HttpRequest,
    customer_id: int,
    form_class: type[forms.DomainErrorsMixin],
    context_name: str,
    apply: Any,
    success: str,
) -> HttpResponse:
    """A card panel's form: valid → `apply(customer, form)` → back to the card; errors → the card with them."""
    customer = _customer(customer_id)
    if customer.is_merged:
        return _to_card(_survivor(request, customer))
    form: Any = form_class(request.POST)
    if form.is_valid():
        try:
            apply(customer, form)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, success)
            return _to_card(customer)
    return _card(request, customer, **{context_name: form})


@require_POST
@section_required(Section.CUSTOMERS)
def add_identity(request: HttpRequest, customer_id: int) -> HttpResponse:
    def apply(customer: Customer, form: forms.IdentityForm) -> None:
        customers_actions.check_add_identity(
            customer=customer,
            kind=form.cleaned_data["kind"],
            value=form.cleaned_data["value"],
            channel=ChannelKind.CONSOLE,
        )

    return _panel_post(request, customer_id, forms.IdentityForm, "identity_form", apply, gettext("Contact added."))


@require_POST
@section_required(Section.CUSTOMERS)
def remove_identity(request: HttpRequest, customer_id: int, identity_id: int) -> HttpResponse:
    customer = _customer(customer_id)
    try:
        customers_actions.do_remove_identity(customer=customer, identity_id=identity_id)
    except DomainError as exc:
        messages.error(request, forms.error_message(exc))
    else:
        messages.success(request, gettext("Contact removed."))
    return _to_card(customer)


@require_POST
@section_required(Section.CUSTOMERS)
def add_address(request: HttpRequest, customer_id: int) -> HttpResponse:
    def apply(customer: Customer, form: forms.AddressForm) -> None:
        customers_actions.check_add_address(customer=customer, **form.cleaned_data)

    return _panel_post(request, customer_id, forms.AddressForm, "address_form", apply, gettext("Address added."))


@require_POST
@section_required(Section.CUSTOMERS)
def remove_address(request: HttpRequest, customer_id: int, address_id: int) -> HttpResponse:
    customer = _customer(customer_id)
    try:
        customers_actions.do_remove_address(customer=customer, address_id=address_id)
    except DomainError as exc:
        messages.error(request, forms.error_message(exc))
    else:
        messages.success(request, gettext("Address removed."))
    return _to_card(customer)


@require_POST
@section_required(Section.CUSTOMERS)
def update_preferences(request: HttpRequest, customer_id: int) -> HttpResponse:
    def apply(customer: Customer, form: forms.PreferencesForm) -> None:
        customers_actions.check_update_customer(actor=request.user, customer=customer, **form.profile())

    return _panel_post(
        request, customer_id, forms.PreferencesForm, "preferences_form", apply, gettext("Preferences saved.")
    )


@require_POST
@section_required(Section.CUSTOMERS)
def record_consent(request: HttpRequest, customer_id: int) -> HttpResponse:
    def apply(customer: Customer, form: forms.ConsentForm) -> None:
        customers_actions.check_record_consent(customer=customer, actor=request.user, **form.for_action())

    return _panel_post(request, customer_id, forms.ConsentForm, "consent_form", apply, gettext("Consent recorded."))


@require_POST
@section_required(Section.CUSTOMERS)
def add_note(request: HttpRequest, customer_id: int) -> HttpResponse:
    def apply(customer: Customer, form: forms.NoteForm) -> None:
        customers_actions.do_add_note(customer=customer, text=form.cleaned_data["text"], actor=request.user)

    return _panel_post(request, customer_id, forms.NoteForm, "note_form", apply, gettext("Note added."))


@section_required(Section.CUSTOMERS)
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer(customer_id)
    if customer.is_merged:
        return _to_card(_survivor(request, customer))
    form = forms.CustomerEditForm(request.POST or None, initial=forms.CustomerEditForm.initial_for(customer))
    if request.method == "POST" and form.is_valid():
        try:
            customers_actions.check_edit_card(
                actor=request.user,
                customer=customer,
                fields=form.profile(),
                tags=form.tag_names(),
                new_identities=[
                    (kind, form.cleaned_data[name], name)
                    for kind, name in (("phone", "add_phone"), ("email", "add_email"))
                    if form.cleaned_data[name]
                ],
            )
        except DomainError as exc:
            customer.refresh_from_db()
            form.add_domain_error(exc)
        else:
            messages.success(request, gettext("Customer card saved."))
            return _to_card(customer)
    return render(request, "console/customer_edit.html", {"customer": customer, "form": form, "topics": "customers"})


# --- merging -------------------------------------------------------------------------------------


def _field_value(customer: Customer, name: str) -> str:
    if name == "preferred_channel":
        return _channel_label(customer.preferred_channel) if customer.preferred_channel else ""
    if name == "language":
        return str(forms.LANGUAGE_LABELS.get(customer.language, customer.language))
    value = getattr(customer, name)
    if isinstance(value, bool):
        return gettext("Yes") if value else ""
    return "" if value in ("", None) else str(localize(value))


def _field_label(name: str) -> Any:
    return getattr(Customer._meta.get_field(name), "verbose_name", name)


def _merge_side(customer: Customer) -> dict[str, Any]:
    """What the preview shows of one card."""
    return {
        "customer": customer,
        "identities": list(customer.identities.all()),
        "addresses": list(customer.addresses.all()),
        "tags": [t.name for t in customer.tags.all()],
        "consents": _consent_rows(customer),
        "ltv": _money(customer.lifetime_value),
        "orders": orders_queries.list_orders(customer_id=customer.pk).count(),
        "timeline": customers_queries.timeline(customer).count(),
        "fields": [
            {"name": name, "label": _field_label(name), "value": _field_value(customer, name)}
            for name in (*FILLED_FIELDS, "do_not_call")
            if name != "do_not_call" or customer.do_not_call
        ],
    }


def _merge_outcome(survivor: dict[str, Any], absorbed: dict[str, Any]) -> dict[str, Any]:
    """What moves to `survivor` if `absorbed` is merged into it."""
    kept = {f["name"]: f["value"] for f in survivor["fields"]}
    return {
        "survivor": survivor["customer"],
        "absorbed": absorbed["customer"],
        "identities": len(absorbed["identities"]),
        "addresses": len(absorbed["addresses"]),
        "orders": absorbed["orders"],
        "timeline": absorbed["timeline"],
        "consents": len(absorbed["consents"]),
        "tags": [t for t in absorbed["tags"] if t not in survivor["tags"]],
        "filled": [f["label"] for f in absorbed["fields"] if f["value"] and not kept.get(f["name"])],
    }


def _merge_candidates(request: HttpRequest, customer: Customer) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    found = customers_queries.search_customers(q).exclude(pk=customer.pk)[:MERGE_CANDIDATES] if q else []
    suggested = [
        s.second if s.first.pk == customer.pk else s.first
        for s in customers_queries.suggested_duplicates()
        if customer.pk in (s.first.pk, s.second.pk)
    ]
    context = {"customer": customer, "q": q, "candidates": found, "suggested": suggested, "topics": "customers"}
    if _htmx(request):
        return render(request, "console/_customer_merge_candidates.html", context)
    return render(request, "console/customer_merge.html", context)


def _other_card(request: HttpRequest, customer: Customer, other_id: Any) -> Customer | None:
    try:
        other = customers_queries.get_customer(int(other_id))
    except (TypeError, ValueError, CustomerNotFound):
        return None
    if other.pk == customer.pk or other.is_merged:
        messages.error(request, gettext("Choose another active card to merge with."))
        return None
    return other


def _undo_message(request: HttpRequest, merge: Merge) -> str:
    return render_to_string("console/_customer_undo_message.html", {"merge": merge}, request=request)


@section_required(Section.CUSTOMERS)
def customer_merge(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Choose the other card, preview both side by side, choose the survivor, merge."""
    customer = _customer(customer_id)
    if customer.is_merged:
        return _to_card(_survivor(request, customer))
    data = request.POST if request.method == "POST" else None
    other = _other_card(request, customer, (data or request.GET).get("other"))
    if other is None:
        return _merge_candidates(request, customer)
    form = forms.MergeForm(data, initial={"other": other.pk})
    if data is not None and form.is_valid():
        survivor, absorbed = (customer, other) if form.cleaned_data["survivor"] == "this" else (other, customer)
        try:
            merge = customers_actions.check_merge(actor=request.user, survivor=survivor, absorbed=absorbed)
        except DomainError as exc:
            messages.error(request, forms.error_message(exc))
            return redirect(f"{reverse('console:customer_merge', args=[customer.pk])}?other={other.pk}")
        messages.success(request, _undo_message(request, merge))
        return _to_card(survivor)
    this_side, other_side = _merge_side(customer), _merge_side(other)
    return render(
        request,
        "console/customer_merge_preview.html",
        {
            "customer": customer,
            "other": other,
            "form": form,
            "sides": [this_side, other_side],
            "keep_this": _merge_outcome(this_side, other_side),
            "keep_other": _merge_outcome(other_side, this_side),
            "topics": "customers",
        },
    )


@require_POST
@section_required(Section.CUSTOMERS)
def undo_merge(request: HttpRequest, merge_id: int) -> HttpResponse:
    try:
        merge = customers_queries.get_merge(merge_id)
    except MergeNotFound as exc:
        raise Http404(exc.message) from exc
    try:
        customers_actions.check_undo_merge(actor=request.user, merge=merge)
    except DomainError as exc:
        messages.error(request, forms.error_message(exc))
    else:
        absorbed = merge.absorbed
        link = format_html(
            '<a href="{}">{}</a>',
            reverse("console:customer", args=[absorbed.pk]),
            absorbed.full_name or f"#{absorbed.pk}",
        )
        messages.success(request, format_html(gettext("Merge undone: {card} is a separate card again."), card=link))
    return _to_card(merge.survivor_id)


# --- duplicates ----------------------------------------------------------------------------------


def _reason(text: str) -> str:
    """The suggestion's reason in the operator's language."""
    for prefix, message in (("same phone ", _("Same phone %(value)s")), ("same name in ", _("Same name in %(value)s"))):
        if text.startswith(prefix):
            return str(message) % {"value": text.removeprefix(prefix)}
    return text


@require_GET
@section_required(Section.CUSTOMERS)
def customer_duplicates(request: HttpRequest) -> HttpResponse:
    def side(customer: Customer) -> dict[str, Any]:
        return {"customer": customer, "identities": customer.identities.all(), "ltv": _money(customer.lifetime_value)}

    pairs = [
        {"first": s.first, "second": s.second, "sides": [side(s.first), side(s.second)], "reason": _reason(s.reason)}
        for s in customers_queries.suggested_duplicates()
    ]
    return render(request, "console/customer_duplicates.html", {"pairs": pairs, "topics": "customers"})


@require_POST
@section_required(Section.CUSTOMERS)
def dismiss_duplicate(request: HttpRequest) -> HttpResponse:
    form = forms.DismissForm(request.POST)
    if form.is_valid():
        first, second = _customer(form.cleaned_data["first"]), _customer(form.cleaned_data["second"])
        try:
            customers_actions.do_dismiss_suggestion(actor=request.user, first=first, second=second)
        except DomainError as exc:
            messages.error(request, forms.error_message(exc))
        else:
            messages.success(request, gettext("Marked as different people: they are no longer suggested."))
    return redirect("console:customer_duplicates")
