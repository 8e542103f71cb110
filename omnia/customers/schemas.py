from __future__ import annotations

import datetime as dt

from ninja import Schema

from omnia.customers.models import Customer


class IdentityOut(Schema):
    kind: str
    value: str
    verified: bool


class CustomerOut(Schema):
    id: int
    first_name: str
    last_name: str
    city: str
    language: str
    tags: list[str]
    created_at: dt.datetime
    identities: list[IdentityOut]

    @staticmethod
    def of(c: Customer) -> CustomerOut:
        return CustomerOut(
            id=c.pk,
            first_name=c.first_name,
            last_name=c.last_name,
            city=c.city,
            language=c.language,
            tags=c.tags,
            created_at=c.created_at,
            identities=[IdentityOut(kind=i.kind, value=i.value, verified=i.verified) for i in c.identities.all()],
        )
