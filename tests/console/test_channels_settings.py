"""Settings → Channels as an owner or manager uses it: connect a provider's account, find the webhook
URL (or the site code) to paste at the provider, see what is missing, change settings without ever
seeing a secret again, switch a channel off and on. Operators and clerks are kept out."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import itertools
import re
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from omnia.accounts.models import User
from omnia.channels import actions as channels_actions
from omnia.channels.models import Channel, MailboxState
from omnia.core import clock
from omnia.core.models import AuditEntry
from omnia.core.permissions import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}
BOT_TOKEN = "7012345678:AAH-very-secret-bot-token"
SECRET_TOKEN = "tg_webhook-Secret_9f3a"
WA_SECRETS = {"access_token": "EAAG-wa-access-secret", "app_secret": "wa-app-secret-42", "verify_token": "wa-verify-77"}
MAIL_PASSWORD = "imap-pass-S3cret!"
_seq = itertools.count(1)


def login(user: User) -> Client:
    """A console user reading English (the texts asserted here are the English sources)."""
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def owner() -> User:
    return make_user(Role.OWNER)


@pytest.fixture
def client(owner: User) -> Client:
    return login(owner)


def page(response: Any) -> str:
    return str(response.content.decode())


def leaked(text: str, *secrets: str) -> list[str]:
    return [secret for secret in secrets if secret in text]


def field_errors(html: str, name: str) -> list[str]:
    """The errors shown inside the block of form field `name`."""
    block = re.search(rf'<div class="field[^"]*" data-field="{re.escape(name)}">(.*?)\n</div>', html, re.S)
    assert block is not None, f"no field {name} on the page"
    return [html_lib.unescape(e) for e in re.findall(r'<div class="field-error" role="alert">([^<]*)</div>', block[1])]


def connect(provider: str, **extra: Any) -> Channel:
    fields: dict[str, Any] = {
        "telegram": {"credentials": {"bot_token": BOT_TOKEN, "secret_token": SECRET_TOKEN}},
        "whatsapp": {"credentials": WA_SECRETS, "config": {"phone_number_id": "1098765"}},
        "webchat": {"credentials": {}, "config": {"site_url": "https://shop.kz", "greeting": "Hello!"}},
        "email": {
            "credentials": {"username": "shop@shop.kz", "password": MAIL_PASSWORD},
            "config": {"address": "shop@shop.kz", "imap_host": "imap.shop.kz", "smtp_host": "smtp.shop.kz"},
        },
    }[provider]
    fields.update(extra)
    fields.setdefault("name", f"{provider} {next(_seq)}")
    return channels_actions.check_create_channel(actor=None, provider=provider, **fields)


TELEGRAM_FORM = {
    "name": "@shop_bot",
    "team": "Support",
    "reply_policy": "continue",
    "first_response_minutes": "5",
    "config__bot_username": "shop_bot",
    "credentials__bot_token": BOT_TOKEN,
    "credentials__secret_token": SECRET_TOKEN,
}


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"), [(Role.OWNER, True), (Role.MANAGER, True), (Role.OPERATOR, False), (Role.CLERK, False)]
)
def test_only_owners_and_managers_reach_the_channel_pages(role: str, allowed: bool) -> None:
    channel = connect("telegram")
    client = login(make_user(role))
    urls = [
        reverse("console:settings_channels"),
        reverse("console:settings_channel_new"),
        reverse("console:settings_channel_create", args=["telegram"]),
        reverse("console:settings_channel_edit", args=[channel.pk]),
    ]

    statuses = {url: client.get(url).status_code for url in urls}

    assert set(statuses.values()) == ({200} if allowed else {403})
    if not allowed:
        assert "does not give access to this page" in page(client.get(urls[0]))


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.CLERK])
def test_operators_and_clerks_change_nothing(role: str) -> None:
    channel = connect("telegram", name="Bot")
    client = login(make_user(role))

    created = client.post(reverse("console:settings_channel_create", args=["telegram"]), TELEGRAM_FORM)
    edited = client.post(reverse("console:settings_channel_edit", args=[channel.pk]), {**TELEGRAM_FORM, "name": "X"})
    switched = client.post(reverse("console:settings_channel_deactivate", args=[channel.pk]))

    assert (created.status_code, edited.status_code, switched.status_code) == (403, 403, 403)
    channel.refresh_from_db()
    assert (Channel.objects.count(), channel.name, channel.is_active) == (1, "Bot", True)
    assert not AuditEntry.objects.filter(action__startswith="channel.").exclude(actor=None).exists()


def test_the_settings_tabs_lead_to_channels(client: Client) -> None:
    html = page(client.get(reverse("console:settings")))

    assert f'href="{reverse("console:settings_channels")}"' in html


# --- connecting ---------------------------------------------------------------------------------


def test_the_provider_chooser_leads_to_each_providers_form(client: Client) -> None:
    html = page(client.get(reverse("console:settings_channel_new")))

    for provider in ["webchat", "telegram", "whatsapp", "instagram", "email"]:
        assert reverse("console:settings_channel_create", args=[provider]) in html


def test_a_provider_that_cannot_be_connected_here_is_not_found(client: Client) -> None:
    assert client.get(reverse("console:settings_channel_create", args=["carrier-pigeon"])).status_code == 404
    assert client.get(reverse("console:settings_channel_edit", args=[999_999])).status_code == 404


@pytest.mark.parametrize(("provider", "minutes"), [("telegram", 1), ("whatsapp", 1), ("webchat", 1), ("email", 60)])
def test_the_first_response_target_defaults_to_a_minute_for_chats_and_an_hour_for_mail(
    client: Client, provider: str, minutes: int
) -> None:
    html = page(client.get(reverse("console:settings_channel_create", args=[provider])))

    assert re.search(rf'name="first_response_minutes" value="{minutes}"', html)


def test_the_form_asks_for_the_providers_secrets_as_password_inputs(client: Client) -> None:
    html = page(client.get(reverse("console:settings_channel_create", args=["whatsapp"])))

    for secret in ["access_token", "app_secret", "verify_token"]:
        assert re.search(rf'<input type="password" name="credentials__{secret}"[^>]*autocomplete="new-password"', html)
    assert re.search(r'<input type="text" name="config__phone_number_id"', html)


def test_connecting_telegram_stores_the_secrets_encrypted_and_shows_the_webhook_url(
    client: Client, owner: User
) -> None:
    response = client.post(reverse("console:settings_channel_create", args=["telegram"]), TELEGRAM_FORM)

    channel = Channel.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('console:settings_channels')}#channel-{channel.pk}"
    assert (channel.provider, channel.name, channel.team, channel.reply_policy, channel.first_response_minutes) == (
        "telegram",
        "@shop_bot",
        "Support",
        "continue",
        5,
    )
    assert channel.config == {"bot_username": "shop_bot"}
    assert channel.credentials == {"bot_token": BOT_TOKEN, "secret_token": SECRET_TOKEN}
    assert leaked(channel.credentials_encrypted, BOT_TOKEN, SECRET_TOKEN) == []
    audit = AuditEntry.objects.get(action="channel.created")
    assert audit.actor == owner
    assert leaked(str(audit.changes), BOT_TOKEN, SECRET_TOKEN) == []

    html = page(client.get(response["Location"]))
    assert f'value="http://testserver/hooks/telegram/{channel.key}"' in html
    assert "@shop_bot is connected. Now paste its webhook URL at Telegram." in html
    assert leaked(html, BOT_TOKEN, SECRET_TOKEN) == []


def test_connecting_whatsapp_needs_the_phone_number_id(client: Client) -> None:
    form = {
        "name": "+7 727 300 00 00",
        "reply_policy": "new",
        "first_response_minutes": "1",
        **{f"credentials__{k}": v for k, v in WA_SECRETS.items()},
    }

    response = client.post(reverse("console:settings_channel_create", args=["whatsapp"]), form)

    assert response.status_code == 422
    assert field_errors(page(response), "config__phone_number_id") == ["This field is required."]
    assert not Channel.objects.exists()


def test_connecting_a_mailbox(client: Client) -> None:
    form = {
        "name": "Shop mail",
        "reply_policy": "new",
        "first_response_minutes": "60",
        "config__address": "shop@shop.kz",
        "config__imap_host": "imap.shop.kz",
        "config__imap_port": "993",
        "config__imap_tls": "",
        "config__smtp_host": "smtp.shop.kz",
        "config__smtp_port": "587",
        "config__smtp_tls": "starttls",
        "credentials__username": "shop@shop.kz",
        "credentials__password": MAIL_PASSWORD,
    }

    response = client.post(reverse("console:settings_channel_create", args=["email"]), form)

    assert response.status_code == 302
    channel = Channel.objects.get()
    assert channel.config == {
        "address": "shop@shop.kz",
        "imap_host": "imap.shop.kz",
        "imap_port": 993,
        "smtp_host": "smtp.shop.kz",
        "smtp_port": 587,
        "smtp_tls": "starttls",
    }
    assert channel.credentials == {"username": "shop@shop.kz", "password": MAIL_PASSWORD}
    assert channel.first_response_minutes == 60
    html = page(client.get(reverse("console:settings_channels")))
    assert "Omnia checks this mailbox for new letters every 30 seconds" in html
    assert "/hooks/email/" not in html
    assert leaked(html, MAIL_PASSWORD, 'value="shop@shop.kz"') == []


# --- bad input ----------------------------------------------------------------------------------


def test_bad_input_is_shown_next_to_its_field_and_nothing_is_saved(client: Client) -> None:
    form = {**TELEGRAM_FORM, "credentials__bot_token": "", "credentials__secret_token": "has spaces!"}

    response = client.post(reverse("console:settings_channel_create", args=["telegram"]), form)

    html = page(response)
    assert response.status_code == 422
    assert field_errors(html, "credentials__bot_token") == ["This field is required."]
    assert field_errors(html, "credentials__secret_token") == [
        "Telegram takes 1 to 256 characters: letters A–Z and a–z, digits, _ and -."
    ]
    assert field_errors(html, "name") == []
    assert "Nothing was saved" in html
    assert not Channel.objects.exists()
    assert not AuditEntry.objects.filter(action="channel.created").exists()


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("first_response_minutes", "0", "The first response target is 1 minute to 30 days (43200 minutes)."),
        ("first_response_minutes", "50000", "The first response target is 1 minute to 30 days (43200 minutes)."),
        ("name", "x" * 101, "Name the channel in at most 100 characters."),
        ("team", "t" * 61, "A team name has at most 60 characters."),
    ],
)
def test_the_actions_refusal_lands_on_the_field_it_names(client: Client, field: str, value: str, error: str) -> None:
    response = client.post(
        reverse("console:settings_channel_create", args=["telegram"]), {**TELEGRAM_FORM, field: value}
    )

    assert response.status_code == 422
    assert field_errors(page(response), field) == [error]
    assert not Channel.objects.exists()


def test_typed_secrets_are_not_echoed_back_after_a_mistake(client: Client) -> None:
    response = client.post(
        reverse("console:settings_channel_create", args=["telegram"]), {**TELEGRAM_FORM, "first_response_minutes": "0"}
    )

    html = page(response)
    assert leaked(html, BOT_TOKEN, SECRET_TOKEN) == []
    assert "Secrets are never shown again, not even after a mistake: type them once more." in html
    assert 'value="@shop_bot"' in html  # what is not secret stays filled in


def test_a_mailbox_login_is_not_echoed_back_either(client: Client) -> None:
    form = {"name": "Mail", "reply_policy": "new", "first_response_minutes": "60", "credentials__username": "me@x.kz"}

    html = page(client.post(reverse("console:settings_channel_create", args=["email"]), form))

    assert "me@x.kz" not in html
    assert field_errors(html, "config__address") == ["This field is required."]


# --- the list -----------------------------------------------------------------------------------


def test_a_mailbox_shows_how_its_last_check_went(client: Client) -> None:
    fine = connect("email", name="Fine mail")
    broken = connect("email", name="Broken mail")
    connect("email", name="New mail")
    MailboxState.objects.create(channel=fine, last_polled_at=NOW - dt.timedelta(minutes=2), synced_at=NOW)
    MailboxState.objects.create(
        channel=broken, last_polled_at=NOW - dt.timedelta(seconds=30), last_error="LOGIN failed: wrong password"
    )

    with time_machine.travel(NOW, tick=False):
        html = page(client.get(reverse("console:settings_channels")))

    states = {
        name: html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", state))).strip()
        for name, state in re.findall(
            r'<h2 class="channel-name">([^<]*)</h2>.*?data-testid="mailbox-state">(.*?)\n</div>', html, re.S
        )
    }
    assert states["Fine mail"].startswith("Last checked")
    assert states["Fine mail"].endswith("(2 minutes ago).")
    assert states["Broken mail"].startswith("The last check failed: LOGIN failed: wrong password Last checked")
    assert states["New mail"] == "Not checked yet."


def test_the_list_shows_each_channels_settings_and_what_to_paste(client: Client) -> None:
    telegram = connect("telegram", name="@shop_bot", team="Sales", first_response_minutes=3)
    whatsapp = connect("whatsapp", name="WhatsApp main", reply_policy="continue")
    webchat = connect("webchat", name="Site chat")

    html = page(client.get(reverse("console:settings_channels")))

    assert f'value="http://testserver/hooks/telegram/{telegram.key}"' in html
    assert f'value="http://testserver/hooks/whatsapp/{whatsapp.key}"' in html
    assert "/hooks/webchat/" not in html
    snippet = f'<script src="http://testserver/webchat/widget.js" data-channel="{webchat.key}" async></script>'
    shown = re.search(r'<textarea [^>]*data-testid="webchat-snippet">([^<]*)</textarea>', html)
    assert shown is not None
    assert html_lib.unescape(shown[1]) == snippet
    for text in ["@shop_bot", "Sales", "3 minutes", "Continue the last conversation", "Any operator", "1098765"]:
        assert text in html
    assert "Telegram and Meta deliver messages only to https:// addresses" in html
    assert leaked(html, BOT_TOKEN, SECRET_TOKEN, *WA_SECRETS.values()) == []


def test_the_webhook_url_follows_the_address_the_console_is_opened_with(client: Client, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["omnia.shop.kz"]
    channel = connect("telegram")

    html = page(client.get(reverse("console:settings_channels"), HTTP_HOST="omnia.shop.kz", secure=True))

    assert f'value="https://omnia.shop.kz/hooks/telegram/{channel.key}"' in html
    assert "deliver messages only to https:// addresses" not in html


def test_the_list_names_what_a_channel_still_lacks(client: Client) -> None:
    # Connected before the rules asked for these (or through the admin): no secrets at all.
    Channel.objects.create(provider="telegram", name="Old bot", key="old-bot", created_at=clock.now())
    Channel.objects.create(
        provider="whatsapp", name="Old number", key="old-wa", created_at=clock.now(), config={"waba_id": "1"}
    )

    html = page(client.get(reverse("console:settings_channels")))

    missing = [
        re.findall(r'<span class="chip chip-missing">([^<]*)</span>', block)
        for block in re.findall(r'data-testid="channel-missing">(.*?)</div>', html, re.S)
    ]
    assert missing == [
        ["Bot token", "Webhook secret token"],
        ["Phone number ID", "Access token", "App secret", "Verify token"],
    ]


def test_a_complete_channel_lacks_nothing(client: Client) -> None:
    connect("telegram")

    html = page(client.get(reverse("console:settings_channels")))

    assert 'data-testid="channel-missing"' not in html
    assert '<span class="chip">Bot token</span>' in html  # stored: named, never shown


def test_an_empty_list_invites_to_connect(client: Client) -> None:
    html = page(client.get(reverse("console:settings_channels")))

    assert "No channel is connected yet" in html


# --- editing ------------------------------------------------------------------------------------


def edit_form(channel: Channel, **changes: str) -> dict[str, str]:
    form = {
        "name": channel.name,
        "team": channel.team,
        "reply_policy": channel.reply_policy,
        "first_response_minutes": str(channel.first_response_minutes),
    }
    form.update({f"config__{k}": str(v) for k, v in channel.config.items()})
    form.update(changes)
    return form


def test_the_edit_page_says_a_secret_is_stored_without_showing_it(client: Client) -> None:
    channel = connect("telegram", config={"bot_username": "shop_bot"})

    html = page(client.get(reverse("console:settings_channel_edit", args=[channel.pk])))

    assert leaked(html, BOT_TOKEN, SECRET_TOKEN) == []
    assert html.count('data-testid="secret-stored"') == 2
    assert re.search(r'<input type="password" name="credentials__bot_token"(?![^>]*value=)[^>]*>', html)
    assert 'value="shop_bot"' in html  # plain settings are filled in


def test_an_empty_secret_keeps_the_stored_one(client: Client, owner: User) -> None:
    channel = connect("telegram", name="Old name")

    response = client.post(
        reverse("console:settings_channel_edit", args=[channel.pk]),
        edit_form(channel, name="New name", credentials__bot_token="", credentials__secret_token=""),
    )

    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "New name"
    assert channel.credentials == {"bot_token": BOT_TOKEN, "secret_token": SECRET_TOKEN}
    audit = AuditEntry.objects.get(action="channel.updated")
    assert (audit.actor, audit.changes) == (owner, {"name": ["Old name", "New name"]})


def test_replacing_a_secret(client: Client) -> None:
    channel = connect("telegram")

    client.post(
        reverse("console:settings_channel_edit", args=[channel.pk]),
        edit_form(channel, credentials__bot_token="7012345678:AAH-the-new-one"),
    )

    channel.refresh_from_db()
    assert channel.credentials == {"bot_token": "7012345678:AAH-the-new-one", "secret_token": SECRET_TOKEN}
    audit = AuditEntry.objects.get(action="channel.updated")
    assert audit.changes == {"credentials_changed": ["bot_token"]}
    assert "AAH-the-new-one" not in str(audit.changes)


def test_a_missing_secret_can_be_filled_in(client: Client) -> None:
    channel = Channel.objects.create(provider="telegram", name="Old bot", key="old-bot", created_at=clock.now())

    refused = client.post(reverse("console:settings_channel_edit", args=[channel.pk]), edit_form(channel))
    filled = client.post(
        reverse("console:settings_channel_edit", args=[channel.pk]),
        edit_form(channel, credentials__bot_token=BOT_TOKEN, credentials__secret_token=SECRET_TOKEN),
    )

    assert refused.status_code == 422
    assert field_errors(page(refused), "credentials__bot_token") == ["This field is required."]
    assert filled.status_code == 302
    channel.refresh_from_db()
    assert channel.credentials == {"bot_token": BOT_TOKEN, "secret_token": SECRET_TOKEN}


def test_editing_keeps_settings_this_page_does_not_know(client: Client) -> None:
    channel = connect("whatsapp", config={"phone_number_id": "1098765", "waba_id": "555", "demo": True})

    client.post(
        reverse("console:settings_channel_edit", args=[channel.pk]),
        edit_form(channel, config__waba_id="", config__phone_number_id="2000"),
    )

    channel.refresh_from_db()
    assert channel.config == {"phone_number_id": "2000", "demo": True}
    assert channel.credentials == WA_SECRETS


def test_a_bad_edit_changes_nothing(client: Client) -> None:
    channel = connect("telegram", name="Bot", first_response_minutes=2)

    response = client.post(
        reverse("console:settings_channel_edit", args=[channel.pk]),
        edit_form(channel, name="Renamed", first_response_minutes="0", credentials__bot_token="7012345678:AAH-x"),
    )

    assert response.status_code == 422
    assert field_errors(page(response), "first_response_minutes")
    assert "7012345678:AAH-x" not in page(response)
    channel.refresh_from_db()
    assert (channel.name, channel.first_response_minutes, channel.credentials["bot_token"]) == ("Bot", 2, BOT_TOKEN)
    assert not AuditEntry.objects.filter(action="channel.updated").exists()


# --- switching off and on -----------------------------------------------------------------------


def test_switching_a_channel_off_and_on_from_its_card(client: Client) -> None:
    channel = connect("telegram", name="@shop_bot")
    target = {"HTTP_HX_TARGET": f"channel-{channel.pk}"}

    off = client.post(reverse("console:settings_channel_deactivate", args=[channel.pk]), **HTMX, **target)

    channel.refresh_from_db()
    assert not channel.is_active
    assert 'data-active="false"' in page(off)
    assert "Switched off" in page(off)
    assert "its conversations stay" in page(off)
    assert reverse("console:settings_channel_activate", args=[channel.pk]) in page(off)

    on = client.post(reverse("console:settings_channel_activate", args=[channel.pk]), **HTMX, **target)

    channel.refresh_from_db()
    assert channel.is_active
    assert 'data-active="true"' in page(on)
    assert "@shop_bot is switched on again." in page(on)
    actions = list(AuditEntry.objects.filter(action__startswith="channel.").values_list("action", flat=True))
    assert sorted(actions) == ["channel.created", "channel.deactivated", "channel.updated"]


def test_switching_off_without_javascript_returns_to_the_list(client: Client) -> None:
    channel = connect("telegram", name="@shop_bot")

    response = client.post(reverse("console:settings_channel_deactivate", args=[channel.pk]), follow=True)

    channel.refresh_from_db()
    assert not channel.is_active
    assert response.redirect_chain[-1][0] == f"{reverse('console:settings_channels')}#channel-{channel.pk}"
    assert "@shop_bot is switched off" in page(response)


def test_switching_off_from_the_edit_page_returns_there(client: Client) -> None:
    channel = connect("telegram")
    edit = reverse("console:settings_channel_edit", args=[channel.pk])

    response = client.post(reverse("console:settings_channel_deactivate", args=[channel.pk]), {"back": "edit"}, **HTMX)

    assert response["HX-Redirect"] == edit
    assert "Switched off" in page(client.get(edit))


def test_a_channel_lacking_secrets_is_not_switched_on(client: Client) -> None:
    channel = Channel.objects.create(
        provider="telegram", name="Old bot", key="old-bot", created_at=clock.now(), is_active=False
    )

    response = client.post(
        reverse("console:settings_channel_activate", args=[channel.pk]), **HTMX, HTTP_HX_TARGET=f"channel-{channel.pk}"
    )

    channel.refresh_from_db()
    assert not channel.is_active
    assert "Old bot cannot be switched on: Bot token is missing. Fill it in first." in page(response)


def test_switching_needs_a_post(client: Client) -> None:
    channel = connect("telegram")

    assert client.get(reverse("console:settings_channel_deactivate", args=[channel.pk])).status_code == 405
    channel.refresh_from_db()
    assert channel.is_active


def test_secrets_saved_under_another_key_are_reported_and_can_be_entered_again(client: Client) -> None:
    channel = connect("telegram", name="@shop_bot")
    Channel.objects.filter(pk=channel.pk).update(credentials_encrypted="gAAAAAB-from-another-secret-key")

    listed = page(client.get(reverse("console:settings_channels")))
    renamed = client.post(reverse("console:settings_channel_edit", args=[channel.pk]), edit_form(channel, name="Бот"))
    saved = client.post(
        reverse("console:settings_channel_edit", args=[channel.pk]),
        edit_form(channel, credentials__bot_token=BOT_TOKEN, credentials__secret_token=SECRET_TOKEN),
    )

    assert "The stored secrets cannot be read" in listed
    assert renamed.status_code == 422  # the secrets must be entered again first
    assert Channel.objects.get(pk=channel.pk).name == "@shop_bot"
    assert saved.status_code == 302
    assert Channel.objects.get(pk=channel.pk).credentials == {"bot_token": BOT_TOKEN, "secret_token": SECRET_TOKEN}
