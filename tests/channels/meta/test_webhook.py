"""Meta's webhook rules shared by WhatsApp and Instagram: X-Hub-Signature-256 and the hub.challenge handshake."""

from __future__ import annotations

import pytest

from omnia.channels.base import BadPayload, WebhookRejected
from omnia.channels.meta import webhook

# channels.md §11: the published test vector.
VECTOR_SECRET = "test_app_secret_123"
VECTOR_BODY = b'{"object":"whatsapp_business_account","entry":[]}'
VECTOR_SIGNATURE = "sha256=92836b820b0d29a722a694f4f19f06bec27d6e59d8d4c150af9f9ae74bf15e30"
CREDENTIALS = {"app_secret": VECTOR_SECRET, "verify_token": "omnia-verify-7Hq2", "access_token": "EAAG-test"}


def test_signature_matches_the_reference_vector() -> None:
    assert webhook.signature(VECTOR_SECRET, VECTOR_BODY) == VECTOR_SIGNATURE


@pytest.mark.parametrize("name", ["X-Hub-Signature-256", "x-hub-signature-256"])
def test_a_correct_signature_is_accepted_whatever_the_header_case(name: str) -> None:
    webhook.verify_signature(credentials=CREDENTIALS, headers={name: VECTOR_SIGNATURE}, body=VECTOR_BODY)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        pytest.param({}, VECTOR_BODY, id="missing header"),
        pytest.param({"X-Hub-Signature-256": ""}, VECTOR_BODY, id="empty header"),
        pytest.param({"X-Hub-Signature-256": VECTOR_SIGNATURE.removeprefix("sha256=")}, VECTOR_BODY, id="no prefix"),
        pytest.param({"X-Hub-Signature": "sha1=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"}, VECTOR_BODY, id="sha1 only"),
        pytest.param({"X-Hub-Signature-256": VECTOR_SIGNATURE}, VECTOR_BODY + b" ", id="body changed"),
        pytest.param(
            {"X-Hub-Signature-256": VECTOR_SIGNATURE},
            b'{"entry":[],"object":"whatsapp_business_account"}',
            id="same JSON re-serialised",
        ),
        pytest.param({"X-Hub-Signature-256": "sha256=не-hex"}, VECTOR_BODY, id="non-ascii garbage"),
    ],
)
def test_a_wrong_or_missing_signature_is_rejected(headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        webhook.verify_signature(credentials=CREDENTIALS, headers=headers, body=body)


def test_a_channel_without_an_app_secret_accepts_nothing() -> None:
    with pytest.raises(WebhookRejected, match="app secret"):
        webhook.verify_signature(
            credentials={"app_secret": ""}, headers={"X-Hub-Signature-256": webhook.signature("", b"{}")}, body=b"{}"
        )


def test_the_handshake_echoes_the_challenge_for_our_verify_token() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "omnia-verify-7Hq2", "hub.challenge": "1158201444"}
    assert webhook.handshake(credentials=CREDENTIALS, query=query) == "1158201444"


@pytest.mark.parametrize(
    ("credentials", "query"),
    [
        pytest.param(
            CREDENTIALS, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}, id="wrong token"
        ),
        pytest.param(
            CREDENTIALS,
            {"hub.mode": "unsubscribe", "hub.verify_token": "omnia-verify-7Hq2", "hub.challenge": "1"},
            id="wrong mode",
        ),
        pytest.param(
            CREDENTIALS, {"hub.mode": "subscribe", "hub.verify_token": "omnia-verify-7Hq2"}, id="no challenge"
        ),
        pytest.param(
            {"verify_token": ""},
            {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"},
            id="no token set",
        ),
        pytest.param(CREDENTIALS, {}, id="empty query"),
    ],
)
def test_the_handshake_fails_otherwise(credentials: dict[str, str], query: dict[str, str]) -> None:
    assert webhook.handshake(credentials=credentials, query=query) is None


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"object": "page", "entry": []}', b'{"object": "instagram", "entry": {}}', b"\xff\xfe"],
)
def test_a_body_that_is_not_the_expected_object_is_a_bad_payload(body: bytes) -> None:
    with pytest.raises(BadPayload):
        webhook.load_object(body, expected_object="instagram")
