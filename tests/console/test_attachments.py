"""Files customers sent that Omnia keeps (e-mail attachments) download from the thread."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from omnia.channels.email import files as email_files
from omnia.conversations import actions as conversations_actions
from omnia.core import clock
from omnia.core.permissions import Role
from tests.conversations import make_channel, make_customer
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 invoice for order A-100231"


@pytest.fixture
def message() -> Any:
    ref = email_files.store(PDF)
    return conversations_actions.do_receive_message(
        customer=make_customer(kind="email", value="aigerim@example.kz"),
        channel=make_channel("webchat"),
        text="Счёт во вложении",
        sent_at=clock.now(),
        provider_message_id="<invoice@example.kz>",
        external_chat_id="aigerim@example.kz",
        attachments=[
            {"kind": "document", "provider_ref": ref, "mime_type": "text/html", "file_name": "счёт.pdf", "size": 35},
            {"kind": "image", "provider_ref": "1479537139650973", "mime_type": "image/jpeg"},
        ],
    )


def test_an_operator_downloads_a_kept_file_never_shown_inline(client: Client, message: Any) -> None:
    client.force_login(make_user(Role.OPERATOR))

    thread = client.get(reverse("console:inbox_conversation", args=[message.conversation_id]))
    response = client.get(reverse("console:inbox_attachment", args=[message.pk, 0]))

    assert reverse("console:inbox_attachment", args=[message.pk, 0]) in thread.content.decode()
    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Type"] == "application/octet-stream"  # not the sender's text/html
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_file_kept_by_the_provider_or_a_wrong_index_is_not_found(client: Client, message: Any) -> None:
    client.force_login(make_user(Role.OPERATOR))

    assert client.get(reverse("console:inbox_attachment", args=[message.pk, 1])).status_code == 404
    assert client.get(reverse("console:inbox_attachment", args=[message.pk, 5])).status_code == 404
    assert client.get(reverse("console:inbox_attachment", args=[999999, 0])).status_code == 404


def test_a_clerk_has_no_inbox_files(client: Client, message: Any) -> None:
    client.force_login(make_user(Role.CLERK))

    assert client.get(reverse("console:inbox_attachment", args=[message.pk, 0])).status_code == 403
