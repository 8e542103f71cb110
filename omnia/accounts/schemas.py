from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field

from omnia.accounts.models import ApiToken, User


class UserOut(Schema):
    id: int
    email: str
    first_name: str
    last_name: str
    role: str
    store: str | None = Field(None, description="Code of the clerk's store")
    is_active: bool

    @staticmethod
    def of(user: User) -> UserOut:
        return UserOut(
            id=user.pk,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            role=user.role,
            store=user.store.code if user.store else None,
            is_active=user.is_active,
        )


class UserIn(Schema):
    email: str
    password: str = Field(min_length=1)
    role: str
    first_name: str = ""
    last_name: str = ""
    store: str | None = Field(None, description="Location code; required for clerks")


class MeOut(Schema):
    kind: str = Field(description="'token' for an API token")
    name: str
    role: str
    scopes: list[str]


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    role: str
    scopes: list[str]
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @staticmethod
    def of(token: ApiToken) -> TokenOut:
        return TokenOut(
            id=token.pk,
            name=token.name,
            prefix=token.prefix,
            role=token.role,
            scopes=token.scopes,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class TokenIn(Schema):
    name: str
    scopes: list[str]
    role: str = "manager"


class TokenCreatedOut(TokenOut):
    secret: str = Field(description="Shown once; store it now")
