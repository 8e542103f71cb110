from omnia.core.errors import Conflict, NotFound, ValidationFailed


class CustomerNotFound(NotFound):
    code = "CUSTOMER_NOT_FOUND"


class IdentityTaken(Conflict):
    """The handle already belongs to another card: merge the cards instead of duplicating it."""

    code = "IDENTITY_TAKEN"

    def __init__(self, message: str, *, field: str | None = None, customer_id: int | None = None) -> None:
        super().__init__(message, field=field)
        self.customer_id = customer_id


class MergeNotAllowed(Conflict):
    code = "MERGE_NOT_ALLOWED"


class MergeNotFound(NotFound):
    code = "MERGE_NOT_FOUND"


class InvalidIdentity(ValidationFailed):
    code = "IDENTITY_INVALID"
