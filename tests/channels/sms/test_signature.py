"""X-Twilio-Signature: the documented vectors (channels.md §5.2, §11) and what the connector accepts."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs

import pytest

from omnia.channels.base import WebhookRejected
from omnia.channels.sms.connector import SmsConnector, signature, url_variants

SDK_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
SDK_PARAMS = {
    "CallSid": ["CA1234567890ABCDE"],
    "Digits": ["1234"],
    "From": ["+14158675309"],
    "To": ["+18005551212"],
    "Caller": ["+14158675309"],
}
EXAMPLE_URL = "https://example.kz/webhooks/twilio/sms"
EXAMPLE_BODY = (
    b"AccountSid=AC00000000000000000000000000000001&Body=Salem%21+Where+is+my+order%3F&From=%2B77011234567"
    b"&MessageSid=SM00000000000000000000000000000001&NumMedia=0&To=%2B77170000001"
)
EXAMPLE_SIGNATURE = "1YpDHR7nCTJflXbXYXBRzbVc6vE="
connector = SmsConnector()


@pytest.mark.parametrize(
    ("token", "url", "params", "expected"),
    [
        pytest.param("12345", SDK_URL, SDK_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", id="sdk vector"),
        pytest.param(
            "12345",
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            SDK_PARAMS,
            "kvajT1Ptam85bY51eRf/AJRuM3w=",
            id="sdk vector with :443",
        ),
        pytest.param(
            "my_auth_token",
            EXAMPLE_URL,
            parse_qs(EXAMPLE_BODY.decode()),
            EXAMPLE_SIGNATURE,
            id="the worked example of 5.2",
        ),
        pytest.param(
            "12345",
            SDK_URL,
            {"Sid": ["CA123"], "SidAccount": ["AC123"], "Digits": ["5678", "1234", "1234"]},
            "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
            id="repeated names: values sorted and de-duplicated",
        ),
    ],
)
def test_the_documented_vectors(token: str, url: str, params: dict[str, list[str]], expected: str) -> None:
    assert signature(token, url, params) == expected


def test_the_worked_example_is_accepted() -> None:
    connector.verify_request(
        credentials={"auth_token": "my_auth_token"},
        url=EXAMPLE_URL,
        headers={"x-twilio-signature": EXAMPLE_SIGNATURE},
        body=EXAMPLE_BODY,
    )


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://example.kz:443/webhooks/twilio/sms", id="signed without the port, requested with it"),
        pytest.param("https://example.kz/webhooks/twilio/sms", id="as signed"),
    ],
)
def test_the_default_port_may_be_added_or_left_out(url: str) -> None:
    connector.verify_request(
        credentials={"auth_token": "my_auth_token"},
        url=url,
        headers={"X-Twilio-Signature": EXAMPLE_SIGNATURE},
        body=EXAMPLE_BODY,
    )


def test_the_sdk_vector_signed_with_the_port_is_accepted_without_it() -> None:
    body = "&".join(f"{name}={value[0].replace('+', '%2B')}" for name, value in SDK_PARAMS.items()).encode()
    connector.verify_request(
        credentials={"auth_token": "12345"},
        url=SDK_URL,
        headers={"X-Twilio-Signature": "kvajT1Ptam85bY51eRf/AJRuM3w="},
        body=body,
    )


def test_url_variants() -> None:
    assert url_variants("https://a.kz/h") == ["https://a.kz/h", "https://a.kz:443/h"]
    assert url_variants("http://a.kz:80/h?x=1") == ["http://a.kz:80/h?x=1", "http://a.kz/h?x=1"]
    assert url_variants("https://a.kz:8443/h") == ["https://a.kz:8443/h"]


@pytest.mark.parametrize(
    ("credentials", "url", "headers", "body"),
    [
        pytest.param(
            {"auth_token": "another_token"},
            EXAMPLE_URL,
            {"X-Twilio-Signature": EXAMPLE_SIGNATURE},
            EXAMPLE_BODY,
            id="another account's token",
        ),
        pytest.param(
            {"auth_token": "my_auth_token"},
            "http://example.kz/webhooks/twilio/sms",
            {"X-Twilio-Signature": EXAMPLE_SIGNATURE},
            EXAMPLE_BODY,
            id="http where Twilio signed https",
        ),
        pytest.param(
            {"auth_token": "my_auth_token"},
            EXAMPLE_URL,
            {"X-Twilio-Signature": EXAMPLE_SIGNATURE},
            EXAMPLE_BODY.replace(b"Salem", b"Hello"),
            id="a changed body",
        ),
        pytest.param({"auth_token": "my_auth_token"}, EXAMPLE_URL, {}, EXAMPLE_BODY, id="no header"),
        pytest.param({}, EXAMPLE_URL, {"X-Twilio-Signature": EXAMPLE_SIGNATURE}, EXAMPLE_BODY, id="no token"),
        pytest.param(
            {"auth_token": "my_auth_token"},
            EXAMPLE_URL,
            {"X-Twilio-Signature": "ünïcode"},
            EXAMPLE_BODY,
            id="garbage signature",
        ),
    ],
)
def test_what_is_refused(credentials: dict[str, str], url: str, headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        connector.verify_request(credentials=credentials, url=url, headers=headers, body=body)


def test_verify_without_the_url_refuses() -> None:
    with pytest.raises(WebhookRejected):
        connector.verify(
            credentials={"auth_token": "my_auth_token"},
            headers={"X-Twilio-Signature": EXAMPLE_SIGNATURE},
            body=EXAMPLE_BODY,
        )


def test_a_json_body_is_checked_by_its_hash_and_the_signed_url() -> None:
    body = b'{"MessageSid": "SM00000000000000000000000000000001"}'
    url = f"https://example.kz/hooks/sms/k?bodySHA256={hashlib.sha256(body).hexdigest()}"
    good = signature("my_auth_token", url, {})

    connector.verify_request(
        credentials={"auth_token": "my_auth_token"}, url=url, headers={"X-Twilio-Signature": good}, body=body
    )
    with pytest.raises(WebhookRejected):
        connector.verify_request(
            credentials={"auth_token": "my_auth_token"},
            url=url,
            headers={"X-Twilio-Signature": good},
            body=body.replace(b"01", b"02"),
        )
