"""Sending a reply over SMTP (smtplib). The only place in this connector that sends mail.

The reply is an RFC 5322 message built with `email.message.EmailMessage`: From the mailbox, To the
customer, "Re: <subject>" once, In-Reply-To and References so the customer's client threads it, a
fresh Message-ID in the mailbox's domain (returned as the provider message id, so the customer's
answer to it finds its conversation), the Date, UTF-8 text. The server's answer decides what
happens next: 4xx and network trouble are worth retrying, 5xx is final, with the server's words
as the error.
"""

from __future__ import annotations

import email.policy
import email.utils
import logging
import re
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage

from django.utils.translation import gettext as _

from omnia.channels.base import OutboundMessage, SendResult
from omnia.channels.email.account import Mailbox, is_address
from omnia.channels.email.parsing import message_ids
from omnia.core import clock

logger = logging.getLogger(__name__)
TIMEOUT = 30.0  # seconds for connecting and for each SMTP command
MAX_REFERENCES = 11  # the thread's first id and the last ten (channels.md §6.1)
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|odp|antw|ответ|отв)\s*(\[\d+\]|\(\d+\))?\s*:\s*)+", re.IGNORECASE)


def reply_subject(subject: str, *, answering: bool) -> str:
    """'Re: <subject>' with exactly one prefix when answering (no 'Re: Re:'); the subject as is otherwise."""
    base = " ".join(subject.split())
    if not answering:
        return base
    base = _REPLY_PREFIX.sub("", base).strip()
    return f"Re: {base or _('(no subject)')}"


def _references(message: OutboundMessage) -> list[str]:
    ids = [ref for ref in message.references if message_ids(ref) == [ref]]
    parent = message.reply_to_external_id
    if parent and message_ids(parent) == [parent]:
        ids = [ref for ref in ids if ref != parent] + [parent]
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def build_message(mailbox: Mailbox, message: OutboundMessage) -> EmailMessage:
    """The e-mail for `message`, ready to send (its Message-ID header is the provider message id)."""
    references = _references(message)
    parent = message.reply_to_external_id if references and references[-1] == message.reply_to_external_id else ""
    mail = EmailMessage(policy=email.policy.SMTP)
    local, _at, domain = mailbox.address.rpartition("@")
    mail["From"] = Address(display_name=mailbox.from_name, username=local, domain=domain)
    mail["To"] = message.to.strip()
    mail["Subject"] = reply_subject(message.subject, answering=bool(parent)) or _("Message from %(name)s") % {
        "name": mailbox.from_name or mailbox.address
    }
    mail["Date"] = email.utils.format_datetime(clock.local_now())
    mail["Message-ID"] = email.utils.make_msgid(domain=mailbox.domain)
    if parent:
        mail["In-Reply-To"] = parent
        mail["References"] = " ".join(references)
    mail.set_content(message.text)
    return mail


def _reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}".strip()


def _refused(code: int, reply: bytes | str) -> SendResult:
    transient = not 500 <= code < 600  # 4xx: try again later; a connection-level -1 too
    return SendResult(
        error=_("The mail server refused the message: %(reply)s") % {"reply": _reply_text(code, reply)},
        transient=transient,
    )


def _connect(mailbox: Mailbox) -> smtplib.SMTP:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if mailbox.smtp_tls == "ssl":
        smtp = smtplib.SMTP_SSL(
            mailbox.smtp_host, mailbox.smtp_port, local_hostname=mailbox.domain, timeout=TIMEOUT, context=context
        )
    else:
        smtp = smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, local_hostname=mailbox.domain, timeout=TIMEOUT)
    try:
        smtp.ehlo()
        if mailbox.smtp_tls == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if mailbox.username and mailbox.password and smtp.has_extn("auth"):
            smtp.login(mailbox.username, mailbox.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def send(mailbox: Mailbox, message: OutboundMessage) -> SendResult:
    """Send one text reply; never raises for server or network errors (they come back in SendResult)."""
    to = message.to.strip()
    if not is_address(to):
        return SendResult(error=_("%(address)s is not an e-mail address.") % {"address": to or "''"})
    if not message.text.strip():
        return SendResult(error=_("The message is empty."))
    mail = build_message(mailbox, message)
    try:
        smtp = _connect(mailbox)
        try:
            refused = smtp.send_message(mail, from_addr=mailbox.address, to_addrs=[to])
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()), (550, b""))
        return _refused(code, reply)
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, login refused, HELO refused…
        return _refused(exc.smtp_code, exc.smtp_error)
    except smtplib.SMTPNotSupportedError as exc:
        return SendResult(error=_("The mail server does not support what is needed: %(error)s") % {"error": exc})
    except smtplib.SMTPServerDisconnected as exc:
        return SendResult(error=_("The mail server closed the connection: %(error)s") % {"error": exc}, transient=True)
    except ssl.SSLError as exc:  # a certificate or TLS version problem: retrying does not fix it
        return SendResult(error=_("TLS with the mail server failed: %(error)s") % {"error": exc})
    except (TimeoutError, OSError) as exc:  # refused, unreachable, timed out, name not found
        host = f"{mailbox.smtp_host}:{mailbox.smtp_port}"
        return SendResult(
            error=_("Cannot reach the mail server %(host)s: %(error)s") % {"host": host, "error": exc}, transient=True
        )
    except smtplib.SMTPException as exc:
        return SendResult(error=_("The mail server refused the message: %(reply)s") % {"reply": exc})
    if refused:
        code, reply = next(iter(refused.values()))
        return _refused(code, reply)
    message_id = str(mail["Message-ID"])
    logger.info("e-mail %s sent to the mail server %s", message_id, mailbox.smtp_host)
    return SendResult(provider_message_id=message_id)
