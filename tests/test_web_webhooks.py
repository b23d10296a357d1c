"""Provider webhooks: payloads shaped as each provider documents them, signed by keys made here;
forged, stale and replayed calls refused, and nothing changed by them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.db.schema import deliveries, subscribers
from publisher.inbound.verp import make_tag
from publisher.subscribers.model import NewSubscriber
from publisher.web import create_app
from publisher.web.webhooks import WebhookState

MAILGUN_KEY = "key-4f2b1c9d8e7a6f5e4d3c2b1a0f9e8d7c"
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-bounces"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
READERS = ("alice@example.org", "bob@example.org", "carol@example.com", "dave@example.com",
           "erin@example.com")  # fmt: skip
SENDGRID_PRIVATE = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC = base64.b64encode(SENDGRID_PRIVATE.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()  # fmt: skip
SNS_PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate() -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(SNS_PRIVATE.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .sign(SNS_PRIVATE, hashes.SHA256()))  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM)


CERT = _certificate()


@pytest.fixture
def hooked(make_settings) -> Iterator[App]:  # type: ignore[no-untyped-def]
    app = App(make_settings(
        mailgun_signing_key=MAILGUN_KEY, sendgrid_public_key=SENDGRID_PUBLIC,
        postmark_webhook_auth="postmark:s3cret-pass", ses_topic_arns=TOPIC,
        bounce_address="bounces@news.example.com",
    ))  # fmt: skip
    app.subscriber_lifecycle.import_many([NewSubscriber(email) for email in READERS])
    yield app
    app.close()


@pytest.fixture
def fetched() -> list[str]:
    return []


@pytest.fixture
def client(hooked: App, fetched: list[str]) -> Iterator[TestClient]:
    web = create_app(hooked)

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return CERT

    web.state.webhooks = WebhookState(300, fetch)
    with TestClient(web, raise_server_exceptions=False) as test_client:
        yield test_client


def _statuses(app: App) -> dict[str, str]:
    with app.db.connect() as conn:
        return dict(conn.execute(sa.select(subscribers.c.email, subscribers.c.status)).all())


def _row_of(app: App, email: str) -> int:
    with app.db.begin() as conn:
        reader = conn.execute(sa.select(subscribers.c.id).where(subscribers.c.email == email)).scalar_one()
        return int(conn.execute(deliveries.insert().values(edition_id=7, subscriber_id=reader, status="sent")
                                .returning(deliveries.c.id)).scalar_one())  # fmt: skip


# Mailgun --------------------------------------------------------------------------------------------


MAILGUN_TOKEN = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"


def _mailgun(event_data: dict[str, Any], *, key: str = MAILGUN_KEY, timestamp: int | None = None,
             token: str = MAILGUN_TOKEN) -> dict[str, Any]:  # fmt: skip
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    signed = {"token": token, "timestamp": stamp, "signature": signature}
    return {"signature": signed, "event-data": event_data}


def _mailgun_failed(recipient: str, severity: str = "permanent", sender: str = "") -> dict[str, Any]:
    return {
        "id": "G9Bn5sl1TC6nu79C8C0bwg", "timestamp": 1521233195.375624, "log-level": "error",
        "event": "failed", "severity": severity, "reason": "bounce",
        "envelope": {"sender": sender or "bounces@news.example.com", "transport": "smtp",
                     "targets": recipient},
        "recipient": recipient, "recipient-domain": recipient.partition("@")[2],
        "message": {"headers": {"to": recipient, "message-id": "20260105061502.3F1A2C0123@news.example.com",
                                "from": "editions@news.example.com", "subject": "Morning Edition"},
                    "attachments": [], "size": 111},
        "delivery-status": {"attempt-no": 1, "message": "550 5.1.1 user unknown", "code": 550,
                            "enhanced-code": "5.1.1", "description": "", "session-seconds": 0.1},
        "flags": {"is-routed": False, "is-authenticated": True, "is-system-test": False,
                  "is-test-mode": False},
        "tags": [], "user-variables": {},
    }  # fmt: skip


def test_mailgun_permanent_failure_bounces_and_a_replay_is_refused(client: TestClient, hooked: App) -> None:
    body = _mailgun(_mailgun_failed("alice@example.org"))
    answer = client.post("/webhooks/mailgun", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["events"] == [
        {"kind": "hard_bounce", "email": "alice@example.org", "action": "bounced"}
    ]
    assert _statuses(hooked)["alice@example.org"] == "bounced"
    # The very same signed call again: refused, not applied a second time.
    assert client.post("/webhooks/mailgun", json=body).status_code == 401


def test_mailgun_complaint_and_the_verp_tag_decide_the_reader(client: TestClient, hooked: App) -> None:
    row = _row_of(hooked, "carol@example.com")
    verp = f"bounces+{make_tag(hooked.signing_key, row)}@news.example.com"
    # The recipient is an address we do not know (a forwarder); the envelope sender names carol's row.
    failed = _mailgun(_mailgun_failed("old-alias@example.net", sender=verp), token="t" * 50)
    assert client.post("/webhooks/mailgun", json=failed).json()["events"][0]["email"] == "carol@example.com"
    complained = {"event": "complained", "id": "-Agny091SquKnsrW2NEKUA", "timestamp": 1521233123.501324,
                  "recipient": "dave@example.com", "envelope": {"sender": "bounces@news.example.com"},
                  "message": {"headers": {"message-id": "x@y"}}}  # fmt: skip
    assert client.post("/webhooks/mailgun", json=_mailgun(complained, token="u" * 50)).status_code == 200
    statuses = _statuses(hooked)
    assert (statuses["carol@example.com"], statuses["dave@example.com"]) == ("bounced", "complained")


@pytest.mark.parametrize("how", ["wrong key", "stale", "future", "unsigned", "reused"])
def test_mailgun_forged_calls_are_401_and_change_nothing(client: TestClient, hooked: App, how: str) -> None:
    event = _mailgun_failed("bob@example.org")
    body = {
        "wrong key": lambda: _mailgun(event, key="key-guessed"),
        "stale": lambda: _mailgun(event, timestamp=int(time.time()) - 3600),
        "future": lambda: _mailgun(event, timestamp=int(time.time()) + 3600),
        "unsigned": lambda: {"event-data": event},
        "reused": lambda: _mailgun(_mailgun_failed("erin@example.com"), token="r" * 50),
    }[how]()
    if how == "reused":
        # Mailgun signs only timestamp + token: a signature taken from a genuine call (applied
        # first) is refused with other event data because its token is spent.
        assert client.post("/webhooks/mailgun", json=body).status_code == 200
        body = {**body, "event-data": event}
    before = _statuses(hooked)
    assert client.post("/webhooks/mailgun", json=body).status_code == 401
    assert _statuses(hooked) == before


# SendGrid -------------------------------------------------------------------------------------------


def _sendgrid_headers(body: bytes, timestamp: int | None = None,
                      key: ec.EllipticCurvePrivateKey = SENDGRID_PRIVATE) -> dict[str, str]:  # fmt: skip
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {"Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp}  # fmt: skip


SENDGRID_EVENTS = [
    {"email": "alice@example.org", "timestamp": 1513299569, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
     "event": "bounce", "category": "cat facts", "sg_event_id": "6g4ZI7SA-xmRDv57GoPIPw==",
     "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
     "reason": "500 unknown recipient",
     "status": "5.0.0", "type": "bounce", "bounce_classification": "Invalid Address"},
    {"email": "bob@example.org", "timestamp": 1513299569, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
     "event": "spamreport", "sg_event_id": "37nvH5QBz858KGVYCM4uOA==",
     "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"},
    {"email": "carol@example.com", "timestamp": 1513299569, "event": "delivered", "response": "250 OK",
     "sg_event_id": "rWVYmVk90MjZJ9iohOBa3w==", "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.0"},
]  # fmt: skip


def test_sendgrid_signed_batch_is_applied_once(client: TestClient, hooked: App) -> None:
    body = json.dumps(SENDGRID_EVENTS).encode()
    headers = _sendgrid_headers(body)
    answer = client.post("/webhooks/sendgrid", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert [e["action"] for e in answer.json()["events"]] == ["bounced", "complained"]
    statuses = _statuses(hooked)
    assert (statuses["alice@example.org"], statuses["bob@example.org"], statuses["carol@example.com"]) == (
        "bounced", "complained", "active")  # fmt: skip
    assert client.post("/webhooks/sendgrid", content=body, headers=headers).status_code == 401


@pytest.mark.parametrize("how", ["other key", "tampered", "stale", "unsigned", "garbage"])
def test_sendgrid_forged_calls_are_401(client: TestClient, hooked: App, how: str) -> None:
    body = json.dumps(SENDGRID_EVENTS[:2]).encode()
    headers = {
        "other key": lambda: _sendgrid_headers(body, key=ec.generate_private_key(ec.SECP256R1())),
        "tampered": lambda: _sendgrid_headers(body.replace(b"alice", b"erin!")),
        "stale": lambda: _sendgrid_headers(body, timestamp=int(time.time()) - 3600),
        "unsigned": lambda: {"Content-Type": "application/json"},
        "garbage": lambda: {**_sendgrid_headers(body), "X-Twilio-Email-Event-Webhook-Signature": "%%%"},
    }[how]()
    before = _statuses(hooked)
    assert client.post("/webhooks/sendgrid", content=body, headers=headers).status_code == 401
    assert _statuses(hooked) == before


# Postmark -------------------------------------------------------------------------------------------

POSTMARK_BOUNCE = {
    "RecordType": "Bounce", "MessageStream": "outbound", "ID": 4323372036854775807, "Type": "HardBounce",
    "TypeCode": 1, "Name": "Hard bounce", "Tag": "Test", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "Metadata": {"a_key": "a_value"}, "ServerID": 23,
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
    "Details": "Test bounce details", "Email": "alice@example.org", "From": "editions@news.example.com",
    "BouncedAt": "2019-11-05T16:33:54.9070259Z", "DumpAvailable": True, "Inactive": True,
    "CanActivate": True, "Subject": "Morning Edition", "Content": "Return-Path: <>",
}  # fmt: skip
POSTMARK_COMPLAINT = {
    **POSTMARK_BOUNCE, "RecordType": "SpamComplaint", "Type": "SpamComplaint", "TypeCode": 512,
    "Name": "Spam complaint", "Email": "bob@example.org", "ID": 42,
    "Description": "The subscriber explicitly marked this message as spam.",
}  # fmt: skip
POSTMARK_AUTH = "Basic " + base64.b64encode(b"postmark:s3cret-pass").decode()


def test_postmark_bounce_and_complaint_with_basic_auth(client: TestClient, hooked: App) -> None:
    for payload in (
        POSTMARK_BOUNCE,
        POSTMARK_COMPLAINT,
        {**POSTMARK_BOUNCE, "Type": "SoftBounce", "Email": "erin@example.com", "ID": 9},
    ):
        answer = client.post("/webhooks/postmark", json=payload, headers={"Authorization": POSTMARK_AUTH})
        assert answer.status_code == 200, answer.text
    statuses = _statuses(hooked)
    assert (statuses["alice@example.org"], statuses["bob@example.org"], statuses["erin@example.com"]) == (
        "bounced", "complained", "active")  # fmt: skip


@pytest.mark.parametrize("auth", [None, "Basic " + base64.b64encode(b"postmark:guess").decode(), "Bearer x"])
def test_postmark_without_the_credentials_is_401(client: TestClient, hooked: App, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    answer = client.post("/webhooks/postmark", json=POSTMARK_BOUNCE, headers=headers)
    assert answer.status_code == 401
    assert _statuses(hooked)["alice@example.org"] == "active"


# Amazon SES through SNS -----------------------------------------------------------------------------


def _sns(kind: str, message: str, *, version: str = "2", url: str = CERT_URL, topic: str = TOPIC,
         key: rsa.RSAPrivateKey = SNS_PRIVATE, message_id: str = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
         when: dt.datetime | None = None) -> dict[str, str]:  # fmt: skip
    stamp = (when or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    item = {"Type": kind, "MessageId": message_id, "TopicArn": topic, "Message": message, "Timestamp": stamp,
            "SignatureVersion": version, "SigningCertURL": url}  # fmt: skip
    if kind == "SubscriptionConfirmation":
        item["Token"] = "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a7"
        item["SubscribeURL"] = ("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
                                f"&TopicArn={topic}&Token={item['Token']}")  # fmt: skip
        keys = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    else:
        keys = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
    text = "".join(f"{k}\n{item[k]}\n" for k in keys if k in item)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    item["Signature"] = base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), algorithm)).decode()
    return item


def _ses_bounce(email: str, source: str = "bounces@news.example.com", kind: str = "Permanent") -> str:
    return json.dumps({
        "notificationType": "Bounce",
        "bounce": {"bounceType": kind, "bounceSubType": "General",
                   "bouncedRecipients": [{"emailAddress": email, "action": "failed", "status": "5.1.1",
                                          "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                   "timestamp": "2026-01-05T06:15:02.000Z",
                   "feedbackId": "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
                   "remoteMtaIp": "192.0.2.10", "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com"},
        "mail": {"timestamp": "2026-01-05T06:15:01.000Z", "source": source,
                 "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/news.example.com",
                 "sourceIp": "192.0.2.1", "sendingAccountId": "123456789012",
                 "messageId": "00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000",
                 "destination": [email], "headersTruncated": False,
                 "headers": [{"name": "From", "value": "editions@news.example.com"},
                             {"name": "Message-ID", "value": "<edition7.1.000000000000@news.example.com>"}],
                 "commonHeaders": {"from": ["editions@news.example.com"], "to": [email],
                                   "messageId": "00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924",
                                   "subject": "Morning Edition"}},
    })  # fmt: skip


def _ses_complaint(email: str) -> str:
    return json.dumps({
        "notificationType": "Complaint",
        "complaint": {"userAgent": "ExampleCorp Feedback Loop (V0.01)",
                      "complainedRecipients": [{"emailAddress": email}], "complaintFeedbackType": "abuse",
                      "arrivalDate": "2026-01-05T06:20:00.000Z", "timestamp": "2026-01-05T06:20:01.000Z",
                      "feedbackId": "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000"},
        "mail": {"timestamp": "2026-01-05T06:15:01.000Z", "source": "bounces@news.example.com",
                 "messageId": "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
                 "destination": [email]},
    })  # fmt: skip


def test_ses_notifications_signed_v1_and_v2_cert_fetched_once(
    client: TestClient, hooked: App, fetched: list[str]
) -> None:
    row = _row_of(hooked, "carol@example.com")
    verp = f"bounces+{make_tag(hooked.signing_key, row)}@news.example.com"
    calls = [
        _sns("Notification", _ses_bounce("alice@example.org"), version="1", message_id="m1"),
        _sns("Notification", _ses_complaint("bob@example.org"), message_id="m2"),
        _sns("Notification", _ses_bounce("forwarded@example.net", source=verp), message_id="m3"),
        _sns("Notification", _ses_bounce("dave@example.com", kind="Transient"), message_id="m4"),
    ]
    for call in calls:
        # SNS posts JSON as text/plain.
        answer = client.post(
            "/webhooks/ses", content=json.dumps(call), headers={"Content-Type": "text/plain"}
        )
        assert answer.status_code == 200, answer.text
    statuses = _statuses(hooked)
    assert [statuses[e] for e in READERS[:4]] == ["bounced", "complained", "bounced", "active"]
    assert fetched == [CERT_URL]  # cached
    assert client.post("/webhooks/ses", content=json.dumps(calls[0])).status_code == 401  # replayed


def test_ses_subscription_confirmation_is_recorded_for_ops(client: TestClient, hooked: App,
                                                           fetched: list[str]) -> None:  # fmt: skip
    call = _sns("SubscriptionConfirmation", "You have chosen to subscribe to the topic ...")
    answer = client.post("/webhooks/ses", content=json.dumps(call))
    assert answer.status_code == 200
    assert answer.json()["recorded"] == "SubscriptionConfirmation"
    [line] = (Path(hooked.settings.var_dir) / "sns_subscriptions.jsonl").read_text().splitlines()
    assert json.loads(line)["subscribe_url"] == call["SubscribeURL"]
    assert fetched == [CERT_URL]  # the certificate only; SubscribeURL is left to ops


@pytest.mark.parametrize("how", ["http cert", "other host", "lookalike host", "other topic", "other key",
                                 "tampered", "stale", "version 3", "unsigned"])  # fmt: skip
def test_ses_forged_calls_are_401(client: TestClient, hooked: App, fetched: list[str], how: str) -> None:
    message = _ses_bounce("alice@example.org")
    call = {
        "http cert": lambda: _sns("Notification", message, url=CERT_URL.replace("https", "http")),
        "other host": lambda: _sns("Notification", message, url="https://evil.example.com/cert.pem"),
        "lookalike host": lambda: _sns(
            "Notification", message, url="https://sns.us-east-1.amazonaws.com.evil.example/c.pem"
        ),
        "other topic": lambda: _sns("Notification", message, topic=TOPIC + "-other"),
        "other key": lambda: _sns(
            "Notification", message, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ),
        "tampered": lambda: {**_sns("Notification", message), "Message": _ses_bounce("bob@example.org")},
        "stale": lambda: _sns("Notification", message, when=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)),
        "version 3": lambda: _sns("Notification", message, version="3"),
        "unsigned": lambda: {k: v for k, v in _sns("Notification", message).items() if k != "Signature"},
    }[how]()
    assert client.post("/webhooks/ses", content=json.dumps(call)).status_code == 401
    assert _statuses(hooked)["alice@example.org"] == "active"
    if how in ("http cert", "other host", "lookalike host", "other topic"):
        assert fetched == []  # refused before anything is fetched


def test_every_webhook_is_404_until_configured(app: App) -> None:
    with TestClient(create_app(app), raise_server_exceptions=False) as plain:
        for provider in ("mailgun", "sendgrid", "postmark", "ses"):
            assert plain.post(f"/webhooks/{provider}", json={}).status_code == 404


def test_webhook_secrets_are_masked(hooked: App) -> None:
    shown = {name: value for name, value, _ in hooked.settings.describe()}
    assert shown["PUBLISHER_MAILGUN_SIGNING_KEY"] == "***"
    assert shown["PUBLISHER_POSTMARK_WEBHOOK_AUTH"] == "***"
