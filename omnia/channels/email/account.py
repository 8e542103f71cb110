"""A mailbox's settings, read once from a channel's credentials and config, checked, with defaults.

Credentials: {"username", "password"}. Config: {"address", "imap_host", "smtp_host"} and optionally
"imap_port", "smtp_port", "imap_tls" / "smtp_tls" ("ssl", "starttls" or "none"), "folder" (INBOX),
"from_name" (the display name replies are sent with) and "history_days" (how far back the first
poll of a mailbox reaches; default 7). Without an explicit TLS mode port 993 (IMAP) and 465 (SMTP)
mean implicit TLS and any other port STARTTLS: a password never travels in clear text unless
"none" is chosen on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

TLS_MODES = ("ssl", "starttls", "none")
DEFAULT_HISTORY_DAYS = 7
MAX_HISTORY_DAYS = 365
_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


class MailboxSettingsInvalid(Exception):
    """The channel's mailbox settings cannot work; the message says which one and why."""


@dataclass(frozen=True)
class Mailbox:
    address: str
    username: str
    password: str
    imap_host: str
    imap_port: int
    imap_tls: str
    smtp_host: str
    smtp_port: int
    smtp_tls: str
    folder: str = "INBOX"
    from_name: str = ""
    history_days: int = DEFAULT_HISTORY_DAYS

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


def is_address(value: str) -> bool:
    """A plausible bare e-mail address (local@domain.tld), no display name."""
    return bool(_ADDRESS.match(value or ""))


def _text(source: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = source.get(name)
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise MailboxSettingsInvalid(_("The mailbox setting %(name)s is missing.") % {"name": name})
    return text


def _tls(config: Mapping[str, Any], name: str, port: int | None, implicit_port: int) -> str:
    mode = _text(config, name, required=False).lower()
    if not mode:
        return "ssl" if port == implicit_port else "starttls"
    if mode not in TLS_MODES:
        raise MailboxSettingsInvalid(
            _("%(name)s is one of %(modes)s, not %(value)r.")
            % {"name": name, "modes": ", ".join(TLS_MODES), "value": mode}
        )
    return mode


def _port(config: Mapping[str, Any], name: str) -> int | None:
    raw = config.get(name)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        port = int(str(raw).strip())
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise MailboxSettingsInvalid(_("%(name)s is a port number from 1 to 65535.") % {"name": name})
    return port


def mailbox_from(credentials: Mapping[str, Any], config: Mapping[str, Any]) -> Mailbox:
    """The mailbox a channel describes; MailboxSettingsInvalid (with a readable reason) if it cannot work."""
    address = _text(config, "address")
    if not is_address(address):
        raise MailboxSettingsInvalid(_("%(address)s is not an e-mail address.") % {"address": address})
    imap_port, smtp_port = _port(config, "imap_port"), _port(config, "smtp_port")
    imap_tls = _tls(config, "imap_tls", imap_port, 993)
    smtp_tls = _tls(config, "smtp_tls", smtp_port, 465)
    try:
        history_days = int(config.get("history_days", DEFAULT_HISTORY_DAYS))
    except (TypeError, ValueError):
        history_days = -1
    if not 0 <= history_days <= MAX_HISTORY_DAYS:
        raise MailboxSettingsInvalid(
            _("history_days is a number of days from 0 to %(max)s.") % {"max": MAX_HISTORY_DAYS}
        )
    return Mailbox(
        address=address,
        username=_text(credentials, "username"),
        password=str(credentials.get("password") or ""),
        imap_host=_text(config, "imap_host"),
        imap_port=imap_port or (993 if imap_tls == "ssl" else 143),
        imap_tls=imap_tls,
        smtp_host=_text(config, "smtp_host"),
        smtp_port=smtp_port or {"ssl": 465, "starttls": 587}.get(smtp_tls, 25),
        smtp_tls=smtp_tls,
        folder=_text(config, "folder", required=False) or "INBOX",
        from_name=_text(config, "from_name", required=False),
        history_days=history_days,
    )
