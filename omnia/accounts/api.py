from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from omnia.accounts import actions, queries
from omnia.accounts.models import ApiToken
from omnia.accounts.schemas import MeOut, TokenCreatedOut, TokenIn, TokenOut, UserIn, UserOut
from omnia.core.errors import PermissionDenied, ValidationFailed
from omnia.core.pagination import Page, paginate
from omnia.core.permissions import Section, actor_of, authorize
from omnia.inventory import queries as inventory_queries

router = Router(tags=["people and access"])


@router.get("/me", response=MeOut, summary="Who this token is")
def me(request: HttpRequest) -> MeOut:
    token = actor_of(request)
    if not isinstance(token, ApiToken):  # pragma: no cover - the API authenticates tokens only
        raise PermissionDenied("Only API tokens can ask who they are.")
    return MeOut(kind="token", name=token.name, role=token.role, scopes=token.scopes)


@router.get("/users", response=Page[UserOut])
def list_users(request: HttpRequest, cursor: str | None = None, limit: int = Query(50)) -> dict[str, object]:
    authorize(actor_of(request), Section.USERS)
    return paginate(queries.list_users(), cursor=cursor, limit=limit, serialize=UserOut.of, newest_first=False)


@router.post("/users", response={201: UserOut})
def create_user(request: HttpRequest, payload: UserIn) -> Status[UserOut]:
    authorize(actor_of(request), Section.USERS, write=True)
    store = None
    if payload.store:
        store = inventory_queries.get_location_by_code(payload.store)
        if store is None:
            raise ValidationFailed(f"No location with code {payload.store!r}.", field="store", code="STORE_INVALID")
    user = actions.check_create_user(
        actor=actor_of(request),
        email=payload.email,
        password=payload.password,
        role=payload.role,
        first_name=payload.first_name,
        last_name=payload.last_name,
        store=store,
    )
    return Status(201, UserOut.of(user))


@router.get("/tokens", response=Page[TokenOut])
def list_tokens(request: HttpRequest, cursor: str | None = None, limit: int = Query(50)) -> dict[str, object]:
    authorize(actor_of(request), Section.USERS)
    return paginate(queries.list_tokens(), cursor=cursor, limit=limit, serialize=TokenOut.of)


@router.post("/tokens", response={201: TokenCreatedOut})
def create_token(request: HttpRequest, payload: TokenIn) -> Status[TokenCreatedOut]:
    authorize(actor_of(request), Section.USERS, write=True)
    issued = actions.check_create_token(
        actor=actor_of(request),
        name=payload.name,
        scopes=payload.scopes,
        role=payload.role,
    )
    return Status(201, TokenCreatedOut(**TokenOut.of(issued.token).model_dump(), secret=issued.secret))


@router.delete("/tokens/{token_id}", response=TokenOut, summary="Revoke a token")
def revoke_token(request: HttpRequest, token_id: int) -> TokenOut:
    authorize(actor_of(request), Section.USERS, write=True)
    return TokenOut.of(actions.do_revoke_token(actor=actor_of(request), token_id=token_id))
