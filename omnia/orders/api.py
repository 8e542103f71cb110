from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from omnia.core.pagination import Page, paginate
from omnia.core.permissions import Section, actor_of, authorize
from omnia.orders import queries
from omnia.orders.schemas import OrderOut

router = Router(tags=["orders"])


@router.get("/orders", response=Page[OrderOut], summary="The one order book, every channel")
def list_orders(
    request: HttpRequest,
    source: str = "",
    status: str = "",
    customer_id: int | None = None,
    cursor: str | None = None,
    limit: int = Query(50),
) -> dict[str, object]:
    authorize(actor_of(request), Section.ORDERS)
    qs = queries.list_orders(source=source, status=status, customer_id=customer_id)
    return paginate(qs, cursor=cursor, limit=limit, serialize=OrderOut.of)
