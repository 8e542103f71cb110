"""The `omnia` command, run in-process against the test database."""

import pytest

from omnia import cli
from omnia.accounts import queries as accounts_queries
from omnia.accounts.models import User
from omnia.core import clock
from omnia.inventory.models import StockLevel, StockMove
from tests.factories import make_location, make_variant

pytestmark = pytest.mark.django_db


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    cli.main(list(argv))
    return capsys.readouterr().out


def test_createuser_makes_a_clerk_of_a_store(capsys: pytest.CaptureFixture[str]) -> None:
    make_location(code="alm-dostyk")

    out = run(
        capsys,
        "createuser",
        "--email",
        "Clerk@Shop.kz",
        "--role",
        "clerk",
        "--store",
        "alm-dostyk",
        "--password",
        "long-enough-pass-42",
    )

    assert "clerk@shop.kz" in out
    assert User.objects.get(email="clerk@shop.kz").store.code == "alm-dostyk"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "x@shop.kz", "--role", "clerk", "--password", "long-enough-pass-42"], "store"),
        (["--email", "x@shop.kz", "--role", "operator", "--password", "123"], "password"),
        (["--email", "x@shop.kz", "--role", "clerk", "--store", "nowhere", "--password", "p"], "nowhere"),
    ],
)
def test_createuser_refuses_bad_input_and_changes_nothing(args: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["createuser", *args])

    assert message in str(caught.value)
    assert not User.objects.exists()


def test_token_create_prints_a_working_secret_that_revoke_disables(capsys: pytest.CaptureFixture[str]) -> None:
    secret = run(capsys, "token", "create", "--name", "1C", "--scopes", "orders:read,stock:read").strip()

    token = accounts_queries.get_token_by_secret(secret)
    assert token is not None
    assert token.scopes == ["orders:read", "stock:read"]
    assert "1C" in run(capsys, "token", "list")

    run(capsys, "token", "revoke", str(token.pk))

    assert accounts_queries.get_token_by_secret(secret) is None


def test_token_create_refuses_unknown_scopes() -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["token", "create", "--name", "x", "--scopes", "root"])

    assert "scope" in str(caught.value)


def test_check_integrity_reports_drift(capsys: pytest.CaptureFixture[str]) -> None:
    variant = make_variant()
    store = make_location()
    now = clock.now()
    StockLevel.objects.create(variant=variant, location=store, on_hand=5, updated_at=now)
    StockMove.objects.create(variant=variant, location=store, kind="receipt", quantity=5, at=now)
    assert "equals the ledger" in run(capsys, "check-integrity")

    StockLevel.objects.filter(variant=variant).update(on_hand=4)

    with pytest.raises(SystemExit) as caught:
        run(capsys, "check-integrity")
    assert caught.value.code == 1
    assert "on hand 4, ledger 5" in capsys.readouterr().out
