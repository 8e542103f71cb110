from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from omnia.core.permissions import Role


class OmniaUserManager(UserManager["User"]):
    """Users log in with their e-mail; the username mirrors it for Django's machinery."""

    def _create_user_object(self, username: str, email: str | None, password: str | None, **extra: Any) -> User:
        email = self.normalize_email(email or username).lower()
        return super()._create_user_object(email, email, password, **extra)  # type: ignore[misc]


class User(AbstractUser):
    email = models.EmailField(_("e-mail"), unique=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.OPERATOR)
    store = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clerks",
        verbose_name=_("store"),
        help_text=_("The store a clerk works in."),
    )
    language = models.CharField(_("language"), max_length=8, blank=True)

    objects: ClassVar[OmniaUserManager] = OmniaUserManager()

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["username"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(role=Role.CLERK) | Q(store__isnull=False),
                name="clerk_has_store",
                violation_error_message=_("A store clerk must belong to a store."),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def audit_label(self) -> str:
        return self.email

    @property
    def audit_user(self) -> User:
        return self

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class ApiToken(models.Model):
    """An integration's credential. Only a hash is stored; the secret is shown once at creation."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    role = models.CharField(_("acts as role"), max_length=16, choices=Role.choices, default=Role.MANAGER)
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="api_tokens",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def audit_label(self) -> str:
        return f"token:{self.name}"

    @property
    def audit_user(self) -> User | None:
        return self.created_by

    def has_scope(self, scope: str) -> bool:
        """'*' grants all; '<section>:write' implies '<section>:read'."""
        if "*" in self.scopes or scope in self.scopes:
            return True
        section, _, mode = scope.partition(":")
        return mode == "read" and f"{section}:write" in self.scopes
