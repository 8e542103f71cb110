"""Console pages for customers: the list and search, the card, edit, merge, duplicates, import."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from omnia.console.views import section_required
from omnia.core.permissions import Section
from omnia.customers import queries as customers_queries


@section_required(Section.CUSTOMERS)
def customer_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    from django.core.paginator import Paginator

    page = Paginator(customers_queries.search_customers(q), 50).get_page(request.GET.get("page"))
    template = "console/customers_results.html" if request.htmx else "console/customers.html"  # type: ignore[attr-defined]
    return render(request, template, {"page": page, "q": q, "topics": "customers"})
