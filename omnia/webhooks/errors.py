from __future__ import annotations

from omnia.core.errors import Conflict, NotFound


class EndpointNotFound(NotFound):
    code = "WEBHOOK_NOT_FOUND"


class DeliveryNotFound(NotFound):
    code = "DELIVERY_NOT_FOUND"


class EndpointInactive(Conflict):
    code = "WEBHOOK_INACTIVE"
