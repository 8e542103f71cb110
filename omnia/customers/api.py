from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from omnia.core.pagination import Page, paginate
from omnia.core.permissions import Section, actor_of, authorize
from omnia.customers import queries
from omnia.customers.schemas import CustomerOut

router = Router(tags=["customers"])


@router.get(
    "/customers",
    response=Page[CustomerOut],
    summary="Customers; `q` finds a phone in any format, an e-mail or part of a name",
)
def list_customers(
    request: HttpRequest, q: str = "", cursor: str | None = None, limit: int = Query(50)
) -> dict[str, object]:
    authorize(actor_of(request), Section.CUSTOMERS)
    return paginate(queries.search_customers(q), cursor=cursor, limit=limit, serialize=CustomerOut.of)
