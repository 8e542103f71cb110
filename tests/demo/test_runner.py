"""`omnia demo`'s start-up: load once, then write demo.json with logins, a token and the channels' webhooks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import resolve

from omnia.accounts import queries as accounts_queries
from omnia.accounts.models import User
from omnia.channels.models import Channel
from omnia.conversations.models import Conversation, Message
from omnia.customers.models import Customer
from omnia.demo.runner import prepare_demo
from omnia.orders.models import Order, Return, StatusChange

SECRET_FIELDS = {"telegram": "secret_token", "whatsapp": "app_secret", "instagram": "app_secret", "sms": "auth_token"}


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path


def check_channels(info: dict[str, Any], console: str) -> None:
    """Every channel is listed once with its absolute webhook URL and the secrets stored on it."""
    channels = {c.key: c for c in Channel.objects.all()}
    listed = info["channels"]
    assert sorted(row["key"] for row in listed) == sorted(channels)
    assert {row["provider"] for row in listed} == {"webchat", "email", "telegram", "whatsapp", "instagram", "sms"}
    for row in listed:
        channel = channels[row["key"]]
        assert row["provider"] == channel.provider
        assert row["webhook_url"] == f"{console}hooks/{channel.provider}/{channel.key}"
        match = resolve(urlsplit(row["webhook_url"]).path)
        assert (match.url_name, match.kwargs) == ("webhook", {"provider": channel.provider, "key": channel.key})
        credentials = channel.credentials
        field = SECRET_FIELDS.get(channel.provider)
        assert row["secret"] == (credentials[field] if field else "")
        if channel.provider in ("whatsapp", "instagram"):
            assert row["verify_token"] == credentials["verify_token"]
            assert row["secret"]
        else:
            assert "verify_token" not in row


@pytest.mark.django_db
def test_first_start_loads_the_shop_and_later_starts_rewrite_the_urls(data_dir: Path) -> None:
    # given an empty database, when the demo starts on 127.0.0.1:8123
    info = prepare_demo(size="small", seed=1, host="127.0.0.1", port=8123)

    # then demo.json holds a login per role, a working API token and every channel's webhook
    path = data_dir / "demo.json"
    assert json.loads(path.read_text()) == info
    assert path.stat().st_mode & 0o777 == 0o600
    assert info["console"] == "http://127.0.0.1:8123/"
    assert {user["role"] for user in info["users"]} == {"owner", "manager", "operator", "clerk"}
    for user in info["users"]:
        assert User.objects.get(email=user["email"]).check_password(user["password"])
    token = accounts_queries.get_token_by_secret(info["api_token"])
    assert token is not None
    assert token.revoked_at is None
    assert len(info["channels"]) == 6
    assert all(row["webhook_url"].startswith("http://127.0.0.1:8123/hooks/") for row in info["channels"])
    check_channels(info, "http://127.0.0.1:8123/")
    assert re.fullmatch(r"http://127\.0\.0\.1:8123/feeds/kaspi/[0-9a-f]{32}\.xml", info["kaspi_feed_url"])

    # and the operator answered the history: replies are theirs, unanswered conversations nobody's
    operator = User.objects.get(email="operator@demo.omnia.kz")
    replies = Message.objects.filter(direction="out")
    assert replies.exists()
    assert not replies.exclude(author=operator).exists()
    answered = Conversation.objects.filter(pk__in=replies.values("conversation_id"))
    assert not answered.exclude(assignee=operator).exists()
    unassigned = Conversation.objects.exclude(pk__in=answered.values("pk"))
    assert unassigned.exists()
    assert not unassigned.exclude(assignee=None).exists()

    # and the staff handled the orders: the clerk sold at their store's till, the operator took the phone and
    # chat orders and confirmed the remote ones, the manager had the warehouse pick and ship
    clerk = User.objects.get(email="clerk@demo.omnia.kz")
    manager = User.objects.get(email="manager@demo.omnia.kz")
    sold_here = Order.objects.filter(source="store", location=clerk.store)
    assert sold_here.exists()
    assert not sold_here.exclude(placed_by=clerk).exists()
    assert not Order.objects.filter(placed_by=clerk).exclude(location=clerk.store).exists()
    assert not Order.objects.filter(source__in=["phone", "whatsapp", "instagram"]).exclude(placed_by=operator).exists()
    assert not Order.objects.filter(source__in=["web", "kaspi"]).exclude(placed_by=None).exists()
    assert not StatusChange.objects.filter(order__in=sold_here).exclude(actor=clerk).exists()
    assert not StatusChange.objects.filter(new="confirmed", order__source="web").exclude(actor=operator).exists()
    assert not StatusChange.objects.filter(new="confirmed", order__source="kaspi").exclude(actor=None).exists()
    assert StatusChange.objects.filter(new="shipped", actor=manager).exists()
    assert Return.objects.filter(actor=clerk, location=clerk.store).exists()

    # when it starts again on another port
    customers = Customer.objects.count()
    again = prepare_demo(size="small", seed=1, host="0.0.0.0", port=9001)  # noqa: S104 - what `omnia demo` binds

    # then the shop is not loaded twice, the logins stay, and every URL names the new address
    assert Customer.objects.count() == customers
    assert (again["users"], again["api_token"]) == (info["users"], info["api_token"])
    assert again["console"] == "http://127.0.0.1:9001/"
    assert all(row["webhook_url"].startswith("http://127.0.0.1:9001/hooks/") for row in again["channels"])
    check_channels(again, "http://127.0.0.1:9001/")
    assert again["kaspi_feed_url"].startswith("http://127.0.0.1:9001/feeds/kaspi/")
    assert json.loads(path.read_text()) == again

    # and a demo.json from before the shop had channels gets the database's list
    stale = {**again, "channels": [{"provider": "telegram", "key": "gone", "webhook_url": "http://old:1/hooks/x/y"}]}
    path.write_text(json.dumps(stale))
    refreshed = prepare_demo(size="small", seed=1, host="localhost", port=8124)
    assert refreshed["console"] == "http://localhost:8124/"
    check_channels(refreshed, "http://localhost:8124/")
