from omnia.core.errors import Conflict, NotFound, ValidationFailed


class UserExists(Conflict):
    code = "USER_EXISTS"


class UserNotFound(NotFound):
    code = "USER_NOT_FOUND"


class TokenNotFound(NotFound):
    code = "TOKEN_NOT_FOUND"


class BadScope(ValidationFailed):
    code = "SCOPE_INVALID"
