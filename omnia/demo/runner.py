"""`omnia demo`: load the demo shop once, create one login per role and an API token, write demo.json.

demo.json: {"console", "users": [{"role", "email", "password"}], "api_token", "kaspi_feed_url",
"channels": [{"provider", "key", "webhook_url", "secret", "verify_token" (Meta only)}]}. `secret` is what
the provider signs with (Telegram's secret token, Meta's app secret); the console and webhook URLs are
rewritten on every start, since the host and port may change.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from omnia.accounts import actions as accounts_actions
from omnia.accounts.models import User
from omnia.channels import queries as channels_queries
from omnia.core.permissions import Role
from omnia.demo import generator
from omnia.inventory.models import Feed, Location

DEMO_USERS = [
    (Role.OWNER, "owner@demo.omnia.kz", "Айгерим", "Сейткали"),
    (Role.MANAGER, "manager@demo.omnia.kz", "Дмитрий", "Ковалёв"),
    (Role.OPERATOR, "operator@demo.omnia.kz", "Асель", "Нурланова"),
    (Role.CLERK, "clerk@demo.omnia.kz", "Ержан", "Абдрахманов"),
]
OPERATOR_EMAIL = "operator@demo.omnia.kz"  # answered the demo history's conversations, handled remote orders
CLERK_EMAIL = "clerk@demo.omnia.kz"  # sold and handed out at the first store
MANAGER_EMAIL = "manager@demo.omnia.kz"  # had the warehouse pick and ship


# The credential a provider signs its webhooks with; the Meta handshake also needs the verify token.
WEBHOOK_SECRETS = {"telegram": "secret_token", "whatsapp": "app_secret", "instagram": "app_secret", "sms": "auth_token"}
HANDSHAKE_PROVIDERS = ("whatsapp", "instagram")


def demo_json_path() -> Path:
    return Path(settings.DATA_DIR) / "demo.json"


def database_is_empty() -> bool:
    return not User.objects.exists() and not Location.objects.exists()


def _console_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - only for display
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def _channels(console: str) -> list[dict[str, Any]]:
    """Each connected channel with its absolute webhook URL and the secrets a test sender signs with."""
    base = console.rstrip("/")
    rows = []
    for channel in channels_queries.list_channels().order_by("id"):
        credentials = channel.credentials
        row = {
            "provider": channel.provider,
            "key": channel.key,
            "webhook_url": f"{base}/hooks/{channel.provider}/{channel.key}",
            "secret": str(credentials.get(WEBHOOK_SECRETS.get(channel.provider, ""), "")),
        }
        if channel.provider in HANDSHAKE_PROVIDERS:
            row["verify_token"] = str(credentials.get("verify_token", ""))
        rows.append(row)
    return rows


@transaction.atomic
def _create_logins() -> dict[str, Any]:
    clerk_store = Location.objects.filter(kind=Location.Kind.STORE).order_by("id").first()
    users = []
    for role, email, first, last in DEMO_USERS:
        password = f"demo-{role}-{secrets.token_hex(3)}"
        existing = User.objects.filter(email=email).first()
        if existing is None:
            accounts_actions.check_create_user(
                actor=None,
                email=email,
                password=password,
                role=role,
                first_name=first,
                last_name=last,
                store=clerk_store if role == Role.CLERK else None,
                validate_password=False,
            )
        else:
            accounts_actions.do_set_password(actor=None, user=existing, password=password)
        users.append({"role": str(role), "email": email, "password": password})
    issued = accounts_actions.check_create_token(actor=None, name="Demo integration", scopes=["*"], role=Role.OWNER)
    return {"users": users, "api_token": issued.secret}


def prepare_demo(*, size: str, seed: int, host: str, port: int) -> dict[str, Any]:
    """Load the demo shop if the database is empty; (re)write demo.json; return its content."""
    path = demo_json_path()
    info: dict[str, Any] | None = None
    if database_is_empty():
        generator.load_demo(size=size, seed=seed)
        info = _create_logins()
        operator = User.objects.get(email=OPERATOR_EMAIL)
        generator.assign_demo_inbox(operator_id=operator.pk)
        clerk = User.objects.get(email=CLERK_EMAIL)
        generator.assign_demo_staff(
            operator_id=operator.pk,
            clerk_id=clerk.pk,
            manager_id=User.objects.get(email=MANAGER_EMAIL).pk,
            clerk_store_id=clerk.store_id,
        )
    elif path.exists():
        info = json.loads(path.read_text())
    else:
        # The database holds a demo but its logins were lost: issue fresh passwords and a token.
        info = _create_logins()
    info["console"] = _console_url(host, port)
    info["channels"] = _channels(info["console"])  # from the database: the host and port may have changed
    feed = Feed.objects.filter(kind=Feed.Kind.KASPI, is_active=True).order_by("pk").first()
    if feed is not None:
        info["kaspi_feed_url"] = f"{info['console'].rstrip('/')}/feeds/kaspi/{feed.token}.xml"
    path.write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n")
    path.chmod(0o600)
    return info


def banner(info: dict[str, Any]) -> str:
    lines = ["", f"Omnia demo shop: {info['console']}", "", "Logins:"]
    for user in info["users"]:
        lines.append(f"  {user['role']:<9} {user['email']:<26} {user['password']}")
    lines += [
        "",
        f"API token: {info['api_token']}",
        "",
        "Channel webhooks:",
        *(f"  {channel['provider']:<9} {channel['webhook_url']}" for channel in info.get("channels", [])),
        *([f"Kaspi feed: {info['kaspi_feed_url']}"] if info.get("kaspi_feed_url") else []),
        f"API docs:  {info['console']}api/v1/docs",
        f"Details:   {demo_json_path()}",
        "",
    ]
    return "\n".join(lines)
