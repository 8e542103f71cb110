"""Domain errors carry a stable code, a message and (optionally) the input field at fault.

The API maps them to HTTP statuses in one place (omnia.api) as
{"error": {"code": …, "message": …, "field": …}}; the console shows the message as a form error.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "DOMAIN_ERROR"
    status = 400

    def __init__(self, message: str = "", *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        if code:
            self.code = code
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class ValidationFailed(DomainError):
    code = "VALIDATION_FAILED"
    status = 422

    def __init__(self, message: str = "", *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code, field=field)


class NotFound(DomainError):
    code = "NOT_FOUND"
    status = 404


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"
    status = 403


class Conflict(DomainError):
    code = "CONFLICT"
    status = 409
