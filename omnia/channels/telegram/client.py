"""HTTP calls to the Telegram Bot API (httpx). The only place in this connector that talks to the network.

The base URL is ``settings.OMNIA_TELEGRAM_API_URL`` (read on every call, so tests point it at a local
fake). The bot token sits in the URL path: URLs are never logged, and error texts have the token
replaced by ``<token>``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

logger = logging.getLogger(__name__)
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_FILE_PATH = re.compile(r"^[A-Za-z0-9_./-]+$")
_TOKEN_IN_URL = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


class _RedactBotTokens(logging.Filter):
    """httpx logs every request URL at INFO (`HTTP Request: POST https://…/bot<token>/sendMessage`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_IN_URL.sub("/bot<token>", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_redact_bot_tokens = _RedactBotTokens()
logging.getLogger("httpx").addFilter(_redact_bot_tokens)  # idempotent: a filter is added once


class TelegramError(Exception):
    """A failed Bot API call. `transient`: worth retrying (429, 5xx, network); `retry_after` in seconds."""

    def __init__(
        self,
        description: str,
        *,
        error_code: int | None = None,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.error_code = error_code
        self.transient = transient
        self.retry_after = retry_after


@dataclass(frozen=True)
class SentMessage:
    chat_id: str
    message_id: int


def base_url() -> str:
    return str(settings.OMNIA_TELEGRAM_API_URL).rstrip("/")


def _token(credentials: Mapping[str, Any]) -> str:
    token = credentials.get("bot_token")
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise TelegramError("The channel has no valid bot token (expected 123456789:AA…).")
    return token


def call(credentials: Mapping[str, Any], method: str, payload: Mapping[str, Any]) -> Any:
    """POST one Bot API method as JSON; the `result` on success, else TelegramError. Never logs the URL."""
    token = _token(credentials)
    try:
        response = httpx.post(
            f"{base_url()}/bot{token}/{method}", json=dict(payload), timeout=TIMEOUT, follow_redirects=False
        )
    except httpx.TimeoutException as exc:
        raise TelegramError(f"Telegram did not answer in time ({type(exc).__name__})", transient=True) from None
    except httpx.HTTPError as exc:
        detail = str(exc).replace(token, "<token>") or type(exc).__name__
        raise TelegramError(f"Cannot reach Telegram: {detail}", transient=True) from None
    return _result(response, method)


def _result(response: httpx.Response, method: str) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise TelegramError(
            f"Unexpected answer from Telegram to {method} (HTTP {response.status_code})",
            error_code=response.status_code,
            transient=response.status_code >= 500 or response.status_code == 429,
        )
    if body.get("ok") is True and "result" in body:
        return body["result"]
    code = body.get("error_code")
    code = code if isinstance(code, int) else response.status_code
    description = body.get("description")
    description = description if isinstance(description, str) and description else f"HTTP {code}"
    parameters = body.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    retry_after = float(retry_after) if isinstance(retry_after, int | float) and retry_after > 0 else None
    transient = code == 429 or code >= 500
    logger.info("telegram %s failed: %s %s", method, code, description)
    raise TelegramError(description, error_code=code, transient=transient, retry_after=retry_after)


def send_message(
    credentials: Mapping[str, Any], *, chat_id: int | str, text: str, reply_to_message_id: int | None = None
) -> SentMessage:
    """sendMessage, plain text (no parse_mode: agent-typed text needs no escaping)."""
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
    if reply_to_message_id is not None:
        # A reply to a message the customer has since deleted is still sent, just without the quote.
        payload["reply_parameters"] = {"message_id": reply_to_message_id, "allow_sending_without_reply": True}
    result = call(credentials, "sendMessage", payload)
    message_id = result.get("message_id") if isinstance(result, dict) else None
    if not isinstance(message_id, int):
        raise TelegramError("Telegram accepted sendMessage but returned no message_id")
    chat = result.get("chat")
    sent_chat = chat.get("id") if isinstance(chat, dict) else None
    return SentMessage(chat_id=str(sent_chat if isinstance(sent_chat, int) else chat_id), message_id=message_id)


def get_file_path(credentials: Mapping[str, Any], file_id: str) -> str:
    """getFile: the file's path on Telegram's file server (valid for at least an hour)."""
    result = call(credentials, "getFile", {"file_id": file_id})
    path = result.get("file_path") if isinstance(result, dict) else None
    if not isinstance(path, str) or not _FILE_PATH.match(path) or ".." in path:
        raise TelegramError("Telegram returned no usable file_path (the file may be over 20 MB)")
    return path


def file_url(credentials: Mapping[str, Any], file_id: str) -> str:
    """The download URL of an attachment (`provider_ref` = file_id). It contains the bot token: never log it."""
    path = get_file_path(credentials, file_id)
    return f"{base_url()}/file/bot{_token(credentials)}/{path}"
