"""The REST API root: /api/v1/. Bearer-token auth, one error shape, routers from each domain."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from omnia.accounts import queries as accounts_queries
from omnia.accounts.api import router as accounts_router
from omnia.accounts.models import ApiToken
from omnia.catalog.api import router as catalog_router
from omnia.channels import api as channels_api
from omnia.conversations import api as conversations_api
from omnia.core.errors import DomainError
from omnia.customers.api import router as customers_router
from omnia.customers.import_api import router as customers_import_router
from omnia.customers.stock_api import router as customers_stock_router
from omnia.fulfillment.api import router as fulfillment_router
from omnia.fulfillment.api_parcels import router as parcels_router
from omnia.inventory.api import router as inventory_router
from omnia.notifications.api import router as notifications_router
from omnia.notifications.api_templates import router as notification_templates_router
from omnia.orders.api import router as orders_router
from omnia.webhooks.api import router as webhooks_router


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return accounts_queries.get_token_by_secret(token)


api = NinjaAPI(
    title="Omnia API",
    version="1",
    description=(
        "One API for customers, catalog, stock and orders across every channel. "
        "Authenticate with `Authorization: Bearer <token>`; tokens are created in "
        "Settings → API tokens or with `omnia token create`. Every 4xx answers "
        '`{"error": {"code", "message", "field"}}`. Lists are cursor-paginated: pass '
        "`next` back as `cursor`."
    ),
    auth=BearerToken(),
    urls_namespace="api",
)


def error_response(
    request: HttpRequest, status: int, code: str, message: str, field: str | None = None
) -> HttpResponse:
    return api.create_response(request, {"error": {"code": code, "message": message, "field": field}}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(request, exc.status, exc.code, exc.message, exc.field)


def _field_of(error: dict[str, Any]) -> str | None:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header", "payload")]
    return ".".join(loc) or None


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    field = _field_of(first)
    message = str(first.get("msg", "Invalid input."))
    return error_response(request, 422, "VALIDATION_FAILED", f"{field}: {message}" if field else message, field)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        request, 401, "UNAUTHENTICATED", "A valid API token is required: Authorization: Bearer <token>."
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error_response(request, exc.status_code, f"HTTP_{exc.status_code}", str(exc))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "NOT_FOUND", str(exc) or "Not found.")


api.add_router("", accounts_router)
api.add_router("", inventory_router)
api.add_router("", catalog_router)
# /customers/imports before /customers/{customer_id}: ninja matches routes in order.
api.add_router("", customers_import_router)
api.add_router("", customers_stock_router)
api.add_router("", customers_router)
api.add_router("", orders_router)
api.add_router("", fulfillment_router)
api.add_router("", parcels_router)
api.add_router("", webhooks_router)
api.add_router("", notification_templates_router)
api.add_router("", notifications_router)  # after the templates: /notifications/templates is not an id
# Connectors (in omnia.channels, a layer above conversations) know each provider's reply window.
conversations_api.use_reply_window(channels_api.reply_window_for)
conversations_api.use_template_lookup(channels_api.template_for)
api.add_router("", conversations_api.router)
api.add_router("", channels_api.router)
