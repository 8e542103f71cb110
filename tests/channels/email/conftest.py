"""Fixtures for the e-mail tests: a real Dovecot per test session (per xdist worker), a real SMTP
server per test, and a mailbox channel wired to both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import translation

from omnia.channels import actions as channels_actions
from omnia.channels.models import Channel
from tests.channels.email.servers import (
    PASSWORD,
    Dovecot,
    SmtpController,
    SmtpHandler,
    start_dovecot,
    start_smtp,
    stop_dovecot,
)

FIXTURES = Path(__file__).parent / "fixtures"


def eml(name: str, **values: str) -> bytes:
    """A stored message, byte for byte; {placeholders} (e.g. original_id) filled in."""
    raw = (FIXTURES / f"{name}.eml").read_bytes()
    for key, value in values.items():
        raw = raw.replace(b"{" + key.encode() + b"}", value.encode())
    return raw


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Errors are written in the active language (Russian by default): the tests read the English."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_send_spacing() -> Iterator[None]:
    """delivery.py spaces sends per channel through the cache: start every test with none recorded."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """Debian's Dovecot on a free loopback port, for the whole session (each xdist worker has its own)."""
    try:
        server, pid = start_dovecot()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        stop_dovecot(server, pid)


@dataclass
class Smtp:
    handler: SmtpHandler
    controller: SmtpController

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def messages(self) -> list[Any]:
        return self.handler.messages


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    handler = SmtpHandler()
    controller = start_smtp(handler)
    try:
        yield Smtp(handler=handler, controller=controller)
    finally:
        controller.stop()


@dataclass
class Mailbox:
    """One test's mailbox on the Dovecot server and the channel connected to it."""

    server: Dovecot
    address: str
    channel: Channel

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        self.server.append(self.address, raw, folder)


def connect_mailbox(
    dovecot: Dovecot, smtp: Smtp, *, password: str = PASSWORD, address: str = "", **config: Any
) -> Mailbox:
    """A new mailbox on the IMAP server (and an account on the SMTP server) and the channel for it."""
    address = address or dovecot.new_mailbox()
    smtp.handler.accounts[address] = PASSWORD
    channel = channels_actions.check_create_channel(
        actor=None,
        provider="email",
        name=address,
        credentials={"username": address, "password": password},
        config={
            "address": address,
            "imap_host": dovecot.host,
            "imap_port": dovecot.port,
            "imap_tls": "none",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_tls": "none",
            "from_name": "Omnia Shop",
            **config,
        },
    )
    return Mailbox(server=dovecot, address=address, channel=channel)


@pytest.fixture
def mailbox(dovecot: Dovecot, smtp: Smtp) -> Mailbox:
    """A fresh mailbox (its own INBOX) and its channel; IMAP and SMTP take the same login."""
    return connect_mailbox(dovecot, smtp)
