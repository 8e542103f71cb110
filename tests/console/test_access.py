"""Every console page checks the role; log-in, throttling, CSRF, password change, language."""

import pytest
from django.test import Client
from django.urls import reverse

from omnia.core.models import AuditEntry
from omnia.core.permissions import Role
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

PAGES = [
    "inbox",
    "customers",
    "orders",
    "stock",
    "analytics",
    "settings",
    "settings_users",
    "settings_tokens",
    "settings_audit",
]
ALLOWED = {
    Role.OWNER: set(PAGES),
    Role.MANAGER: set(PAGES) - {"settings_users", "settings_tokens"},
    Role.OPERATOR: {"inbox", "customers", "orders", "stock"},
    Role.CLERK: {"customers", "orders", "stock"},
}


def logged_in(role: str) -> Client:
    client = Client()
    user = make_user(role)
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_reaches_exactly_its_pages(role: str) -> None:
    client = logged_in(role)

    reached = {page for page in PAGES if client.get(reverse(f"console:{page}")).status_code == 200}
    refused = {page for page in PAGES if client.get(reverse(f"console:{page}")).status_code == 403}

    assert reached == ALLOWED[role]
    assert refused == set(PAGES) - ALLOWED[role]


@pytest.mark.parametrize("role", list(ALLOWED))
def test_navigation_shows_only_what_the_role_may_use(role: str) -> None:
    client = logged_in(role)

    html = client.get(reverse("console:customers")).content.decode()

    for section in ["inbox", "customers", "orders", "stock", "analytics", "settings"]:
        shown = f'data-section="{section}"' in html
        assert shown == (section in ALLOWED[role]), section


def test_anonymous_visitors_are_sent_to_log_in() -> None:
    response = Client().get(reverse("console:orders"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


def test_log_in_lands_on_the_first_allowed_page() -> None:
    make_user(Role.CLERK, email="clerk@shop.test")
    client = Client()

    response = client.post(reverse("console:login"), {"username": "clerk@shop.test", "password": PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("console:customers")


def test_wrong_password_shows_a_form_error() -> None:
    make_user(Role.OPERATOR, email="op@shop.test")

    response = Client().post(reverse("console:login"), {"username": "op@shop.test", "password": "nope"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


def test_repeated_failures_lock_the_login_even_with_the_right_password() -> None:
    make_user(Role.OPERATOR, email="op@shop.test")
    client = Client()
    for _ in range(5):
        client.post(reverse("console:login"), {"username": "op@shop.test", "password": "guess"})

    response = client.post(reverse("console:login"), {"username": "op@shop.test", "password": PASSWORD})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_log_in_without_a_csrf_token_is_refused() -> None:
    make_user(Role.OPERATOR, email="op@shop.test")
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("console:login"), {"username": "op@shop.test", "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_password_change_keeps_the_session_and_is_audited() -> None:
    user = make_user(Role.MANAGER)
    client = Client()
    client.force_login(user)
    new = "another-long-passphrase-77"

    response = client.post(
        reverse("console:password_change"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)
    assert client.get(reverse("console:customers")).status_code == 200
    assert AuditEntry.objects.filter(action="user.password_changed", actor=user).exists()


def test_logout_needs_a_post_and_ends_the_session() -> None:
    client = logged_in(Role.OPERATOR)

    client.post(reverse("console:logout"))

    assert client.get(reverse("console:inbox")).status_code == 302


@pytest.mark.parametrize(("language", "word"), [("ru", "Заказы"), ("kk", "Тапсырыстар"), ("en", "Orders")])
def test_language_switch_translates_the_console(language: str, word: str) -> None:
    client = logged_in(Role.OPERATOR)

    client.post(reverse("set_language"), {"language": language, "next": "/orders/"})
    html = client.get(reverse("console:orders")).content.decode()

    assert f'<html lang="{language}">' in html
    assert word in html


def test_owner_creates_a_clerk_in_the_console_and_a_bad_form_changes_nothing() -> None:
    from omnia.accounts.models import User
    from tests.factories import make_location

    store = make_location(code="alm-dostyk")
    client = logged_in(Role.OWNER)
    count = User.objects.count()

    bad = client.post(
        reverse("console:settings_users"),
        {"email": "new@shop.test", "role": "clerk", "password": "long-enough-pass-42"},
    )
    assert bad.status_code == 200
    assert "A store clerk must belong to a store." in bad.content.decode()
    assert User.objects.count() == count

    good = client.post(
        reverse("console:settings_users"),
        {"email": "new@shop.test", "role": "clerk", "store": store.pk, "password": "long-enough-pass-42"},
    )
    assert good.status_code == 302
    assert User.objects.get(email="new@shop.test").store == store


def test_owner_creates_and_revokes_a_token_in_the_console() -> None:
    from omnia.accounts.models import ApiToken

    client = logged_in(Role.OWNER)

    page = client.post(
        reverse("console:settings_tokens"),
        {"name": "Website", "role": "manager", "scopes": ["orders:write", "stock:read"]},
    )
    secret = page.context["issued"].secret
    assert secret in page.content.decode()
    token = ApiToken.objects.get(name="Website")
    assert token.scopes == ["orders:write", "stock:read"]

    client.post(reverse("console:revoke_token", args=[token.pk]))

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert secret not in client.get(reverse("console:settings_tokens")).content.decode()
