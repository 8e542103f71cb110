from omnia.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


class OutOfStock(Conflict):
    """Not enough available at the location: nothing was changed."""

    code = "OUT_OF_STOCK"


class InvalidQuantity(ValidationFailed):
    code = "QUANTITY_INVALID"


class ReasonRequired(ValidationFailed):
    code = "REASON_REQUIRED"


class LocationNotFound(NotFound):
    code = "LOCATION_NOT_FOUND"


class ReservationNotFound(NotFound):
    code = "RESERVATION_NOT_FOUND"


class TransferNotFound(NotFound):
    code = "TRANSFER_NOT_FOUND"


class SupplyNotFound(NotFound):
    code = "SUPPLY_NOT_FOUND"


class WrongState(Conflict):
    """The document is not in a state that allows this (e.g. receiving a transfer not shipped)."""

    code = "WRONG_STATE"


class CorrectionNotAllowed(PermissionDenied):
    code = "CORRECTION_FORBIDDEN"
