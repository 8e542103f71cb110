from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from omnia.catalog import queries
from omnia.catalog.schemas import ProductOut
from omnia.core.pagination import Page, paginate
from omnia.core.permissions import Section, actor_of, authorize

router = Router(tags=["catalog"])


@router.get("/products", response=Page[ProductOut], summary="Products with their variants and prices")
def list_products(
    request: HttpRequest, q: str = "", cursor: str | None = None, limit: int = Query(50)
) -> dict[str, object]:
    authorize(actor_of(request), Section.STOCK)
    return paginate(queries.search_products(q), cursor=cursor, limit=limit, serialize=ProductOut.of, newest_first=False)
