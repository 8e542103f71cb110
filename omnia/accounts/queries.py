from __future__ import annotations

import datetime as dt
import hmac

from django.db.models import QuerySet

from omnia.accounts.actions import TOKEN_PREFIX, hash_token
from omnia.accounts.errors import UserNotFound
from omnia.accounts.models import ApiToken, User
from omnia.core import clock

LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def get_token_by_secret(secret: str) -> ApiToken | None:
    """The active token whose secret is `secret`, or None. Marks it used (once a minute at most)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    prefix = secret[len(TOKEN_PREFIX) :].split("_", 1)[0]
    token = ApiToken.objects.select_related("created_by").filter(prefix=prefix, revoked_at__isnull=True).first()
    if token is None or not hmac.compare_digest(token.key_hash, hash_token(secret)):
        return None
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def list_users() -> QuerySet[User]:
    return User.objects.select_related("store").order_by("role", "email")


def get_user(user_id: int) -> User:
    user = User.objects.select_related("store").filter(pk=user_id).first()
    if user is None:
        raise UserNotFound(f"No user {user_id}.", field="user_id")
    return user


def list_tokens() -> QuerySet[ApiToken]:
    return ApiToken.objects.select_related("created_by").order_by("-created_at")
