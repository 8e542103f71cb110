"""People and access: users, roles, API tokens. Every change is audited."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction

from omnia.accounts.errors import BadScope, TokenNotFound, UserExists
from omnia.accounts.models import ApiToken, User
from omnia.core import clock
from omnia.core.audit import do_record_audit
from omnia.core.errors import ValidationFailed
from omnia.core.permissions import Role, scope_names
from omnia.inventory.models import Location

TOKEN_PREFIX = "omn_"  # noqa: S105 - a public marker, not a secret


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ValidationFailed("Enter a valid e-mail address.", field="email", code="EMAIL_INVALID") from exc
    return email


def _clean_role(role: str, store: Location | None) -> str:
    if role not in Role.values:
        raise ValidationFailed(
            f"Unknown role {role!r}; use one of {', '.join(Role.values)}.", field="role", code="ROLE_INVALID"
        )
    if role == Role.CLERK and store is None:
        raise ValidationFailed("A store clerk must belong to a store.", field="store", code="STORE_REQUIRED")
    if store is not None and store.kind != Location.Kind.STORE:
        raise ValidationFailed(f"{store.name} is not a store.", field="store", code="STORE_INVALID")
    return role


@transaction.atomic
def check_create_user(
    *,
    actor: Any,
    email: str,
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    store: Location | None = None,
    validate_password: bool = True,
) -> User:
    """Create a console user after validating e-mail, role, store and password strength."""
    email = _clean_email(email)
    role = _clean_role(role, store)
    if User.objects.filter(email=email).exists():
        raise UserExists(f"A user with the e-mail {email} already exists.", field="email")
    user = User(
        email=email,
        username=email,
        role=role,
        first_name=first_name,
        last_name=last_name,
        store=store if role == Role.CLERK else None,
        is_staff=role in (Role.OWNER, Role.MANAGER),
        is_superuser=role == Role.OWNER,
    )
    if validate_password:
        try:
            password_validation.validate_password(password, user)
        except DjangoValidationError as exc:
            raise ValidationFailed(" ".join(exc.messages), field="password", code="PASSWORD_WEAK") from exc
    user.set_password(password)
    user.save()
    do_record_audit(
        actor=actor, action="user.created", target=user, changes={"role": role, "store": store.code if store else None}
    )
    return user


@transaction.atomic
def check_change_role(*, actor: Any, user: User, role: str, store: Location | None = None) -> User:
    role = _clean_role(role, store)
    before = {"role": user.role, "store": user.store.code if user.store else None}
    user.role = role
    user.store = store if role == Role.CLERK else None
    user.is_staff = role in (Role.OWNER, Role.MANAGER)
    user.is_superuser = role == Role.OWNER
    user.save(update_fields=["role", "store", "is_staff", "is_superuser"])
    do_record_audit(
        actor=actor,
        action="user.role_changed",
        target=user,
        changes={"before": before, "after": {"role": role, "store": store.code if store else None}},
    )
    return user


@transaction.atomic
def do_set_active(*, actor: Any, user: User, active: bool) -> User:
    user.is_active = active
    user.save(update_fields=["is_active"])
    do_record_audit(actor=actor, action="user.activated" if active else "user.deactivated", target=user)
    return user


@transaction.atomic
def do_set_password(*, actor: Any, user: User, password: str) -> None:
    """Set a password already validated by the caller (Django's password forms validate)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    do_record_audit(actor=actor, action="user.password_changed", target=user)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once; only its hash is stored


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    allowed = set(scope_names())
    cleaned = sorted({s.strip() for s in scopes if s.strip()})
    if not cleaned:
        raise BadScope("Give the token at least one scope.", field="scopes")
    unknown = [s for s in cleaned if s not in allowed]
    if unknown:
        raise BadScope(f"Unknown scope {unknown[0]!r}.", field="scopes")
    return cleaned


@transaction.atomic
def check_create_token(*, actor: Any, name: str, scopes: Iterable[str], role: str = Role.MANAGER) -> IssuedToken:
    """Issue an API token; the returned secret is the only copy there will ever be."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Name the integration this token is for.", field="name", code="NAME_REQUIRED")
    if role not in Role.values or role == Role.CLERK:
        raise ValidationFailed("A token acts as owner, manager or operator.", field="role", code="ROLE_INVALID")
    cleaned = _clean_scopes(scopes)
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        name=name[:100],
        prefix=prefix,
        key_hash=hash_token(secret),
        role=role,
        scopes=cleaned,
        created_by=getattr(actor, "audit_user", None),
        created_at=clock.now(),
    )
    do_record_audit(actor=actor, action="token.created", target=token, changes={"scopes": cleaned, "role": role})
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def do_revoke_token(*, actor: Any, token_id: int) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None:
        raise TokenNotFound(f"No API token {token_id}.", field="token_id")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
        do_record_audit(actor=actor, action="token.revoked", target=token)
    return token
