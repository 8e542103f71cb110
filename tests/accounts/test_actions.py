import pytest
from django.db import IntegrityError, transaction

from omnia.accounts import actions, queries
from omnia.accounts.models import ApiToken, User
from omnia.core.errors import ValidationFailed
from omnia.core.models import AuditEntry
from omnia.core.permissions import Role
from omnia.inventory.models import Location
from tests.factories import PASSWORD, make_location, make_user

pytestmark = pytest.mark.django_db


def test_users_log_in_by_lower_cased_email_with_an_argon2_hash() -> None:
    user = actions.check_create_user(actor=None, email="  Aigerim@Shop.KZ ", password=PASSWORD, role=Role.MANAGER)

    assert user.email == "aigerim@shop.kz"
    assert user.password.startswith("argon2")
    assert user.check_password(PASSWORD)


def test_a_clerk_without_a_store_is_refused_by_the_action_and_the_database() -> None:
    with pytest.raises(ValidationFailed) as caught:
        actions.check_create_user(actor=None, email="c@shop.kz", password=PASSWORD, role=Role.CLERK)
    assert caught.value.field == "store"

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="raw@shop.kz", username="raw@shop.kz", role=Role.CLERK)


def test_a_clerk_must_belong_to_a_store_not_a_warehouse() -> None:
    warehouse = make_location(kind=Location.Kind.WAREHOUSE)

    with pytest.raises(ValidationFailed) as caught:
        actions.check_create_user(actor=None, email="c@shop.kz", password=PASSWORD, role=Role.CLERK, store=warehouse)

    assert caught.value.code == "STORE_INVALID"


def test_role_change_is_audited_with_before_and_after() -> None:
    owner = make_user(Role.OWNER)
    store = make_location(code="ast-1")
    user = make_user(Role.OPERATOR)

    actions.check_change_role(actor=owner, user=user, role=Role.CLERK, store=store)

    entry = AuditEntry.objects.filter(action="user.role_changed").get()
    assert entry.actor == owner
    assert entry.target_id == str(user.pk)
    assert entry.changes == {
        "before": {"role": "operator", "store": None},
        "after": {"role": "clerk", "store": "ast-1"},
    }


def test_token_secret_is_shown_once_and_only_its_hash_is_kept() -> None:
    owner = make_user(Role.OWNER)

    issued = actions.check_create_token(actor=owner, name="Website", scopes=["orders:write", "orders:write"])

    stored = ApiToken.objects.get()
    assert issued.secret.startswith("omn_")
    assert issued.secret not in str(ApiToken.objects.values().get())
    assert stored.scopes == ["orders:write"]
    assert stored.created_by == owner
    assert queries.get_token_by_secret(issued.secret) == stored
    assert queries.get_token_by_secret(issued.secret + "x") is None
    assert AuditEntry.objects.filter(action="token.created", actor=owner).exists()


def test_revoking_twice_is_harmless_and_audited_once() -> None:
    issued = actions.check_create_token(actor=None, name="1C", scopes=["*"])

    actions.do_revoke_token(actor=None, token_id=issued.token.pk)
    actions.do_revoke_token(actor=None, token_id=issued.token.pk)

    assert queries.get_token_by_secret(issued.secret) is None
    assert AuditEntry.objects.filter(action="token.revoked").count() == 1


def test_a_token_may_not_act_as_a_clerk() -> None:
    with pytest.raises(ValidationFailed) as caught:
        actions.check_create_token(actor=None, name="x", scopes=["*"], role=Role.CLERK)

    assert caught.value.field == "role"
