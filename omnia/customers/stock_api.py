"""Back-in-stock requests on the customer card over REST: "tell me when it is back"."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from omnia.catalog import queries as catalog_queries
from omnia.core.permissions import Section, actor_of, authorize
from omnia.customers import queries
from omnia.customers.actions.stock_requests import do_request_back_in_stock
from omnia.inventory import queries as inventory_queries
from omnia.inventory.schemas import StockRequestIn, StockRequestOut

router = Router(tags=["stock"])


@router.post(
    "/customers/{customer_id}/stock-requests",
    response={201: StockRequestOut},
    summary="The customer asks to be told when a variant is back (at a location, or anywhere)",
    description=(
        "Recorded once: asking again for the same variant and place answers the open request. The request shows "
        "on the card's timeline; the notice goes out when the variant is available again."
    ),
)
def request_back_in_stock(request: HttpRequest, customer_id: int, payload: StockRequestIn) -> Status[StockRequestOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    authorize(actor, Section.CUSTOMERS, write=True)
    customer = queries.get_customer(customer_id)
    variant = catalog_queries.get_variant_by_sku(payload.sku)
    location = inventory_queries.get_location(payload.location) if payload.location else None
    subscription = do_request_back_in_stock(
        actor=actor, customer=customer, variant=variant, location=location, channel=payload.channel
    )
    return Status(201, StockRequestOut.of(inventory_queries.list_stock_requests().get(pk=subscription.pk)))


@router.get(
    "/customers/{customer_id}/stock-requests",
    response=list[StockRequestOut],
    summary="The customer's back-in-stock requests, newest first",
)
def list_stock_requests(request: HttpRequest, customer_id: int) -> list[StockRequestOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK)
    authorize(actor, Section.CUSTOMERS)
    customer = queries.get_customer(customer_id)
    return [StockRequestOut.of(s) for s in inventory_queries.list_stock_requests(customer_id=customer.pk)]
