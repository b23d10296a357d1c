"""What email services report by webhook, checked and turned into the reports ``Inbound`` reads.

Each provider signs differently; each check is here, free of the web framework:

- Mailgun: HMAC-SHA256 of ``timestamp + token`` under the webhook signing key, inside the JSON body.
- SendGrid: ECDSA P-256 / SHA-256 over ``timestamp + raw body``, in the
  ``X-Twilio-Email-Event-Webhook-Signature`` and ``-Timestamp`` headers.
- Postmark: HTTP basic auth with credentials we chose.
- Amazon SES through SNS: RSA (SignatureVersion 1 SHA-1, 2 SHA-256) over a fixed list of the
  message's keys, under the certificate at ``SigningCertURL``, which must be an SNS host.

A timestamp older than ``webhook_max_age`` (or that far in the future) is refused, and so is a
signature seen before within that window (``ReplayGuard``): a recorded call cannot be played
again. Every event that checks out becomes an ``Event``; ``as_report`` writes it as the standard
report it stands for (an RFC 3464 delivery status notification, an RFC 5965 feedback report), so
it goes through exactly the processing of a bounce that came back by mail: same matching by VERP
tag, our Message-ID or address, same lifecycle moves, same "twice changes nothing".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

HARD = "hard"
SOFT = "soft"
COMPLAINT = "complaint"


class Unauthorized(Exception):  # noqa: N818 - it is the HTTP answer's name
    """The call is not provably from the provider: answered 401, nothing changes."""


@dataclass(frozen=True)
class Event:
    kind: str  # HARD, SOFT or COMPLAINT
    email: str
    envelope_sender: str = ""  # the MAIL FROM the provider used: our VERP address when VERP is on
    message_id: str = ""  # the Message-ID we wrote, when the provider passes it back
    status: str = ""  # an enhanced status code when the provider gives one
    detail: str = ""  # one line: provider and its own words
    event_id: str = ""  # the provider's id of the event, so a report has a stable Message-ID


class ReplayGuard:
    """Signatures seen within the last ``max_age`` seconds, in this process. With several web
    processes a replay could reach another one; the timestamp window still bounds it, and a report
    applied twice changes nothing."""

    def __init__(self, max_age: int, clock: Callable[[], float] = time.time) -> None:
        self.max_age = max_age
        self.clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def check_time(self, timestamp: float) -> None:
        if abs(self.clock() - timestamp) > self.max_age:
            raise Unauthorized("stale or future timestamp")

    def once(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._seen) > 1000:
                self._seen = {k: t for k, t in self._seen.items() if now - t <= self.max_age}
            if key in self._seen:
                raise Unauthorized("replayed")
            self._seen[key] = now


def _timestamp(value: object) -> float:
    try:
        number = float(str(value))
    except ValueError:
        raise Unauthorized("no usable timestamp") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise Unauthorized("no usable timestamp")
    return number


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise Unauthorized("not JSON") from None


def _str(value: object, limit: int = 320) -> str:
    return " ".join(str(value).split())[:limit] if isinstance(value, str | int | float) else ""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# Mailgun --------------------------------------------------------------------------------------------


def mailgun(body: bytes, signing_key: str, guard: ReplayGuard) -> list[Event]:
    payload = _dict(_json(body))
    signature = _dict(payload.get("signature"))
    token, stamp, given = (_str(signature.get(k), 200) for k in ("token", "timestamp", "signature"))
    if not (token and stamp and given):
        raise Unauthorized("unsigned")
    expected = hmac.new(signing_key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.lower().encode()):
        raise Unauthorized("bad signature")
    guard.check_time(_timestamp(stamp))
    guard.once("mailgun:" + token)
    data = _dict(payload.get("event-data"))
    event = _str(data.get("event")).lower()
    if event == "failed":
        kind = HARD if _str(data.get("severity")).lower() == "permanent" else SOFT
    elif event == "complained":
        kind = COMPLAINT
    else:
        return []
    status = _dict(data.get("delivery-status"))
    headers = _dict(_dict(data.get("message")).get("headers"))
    words = _str(status.get("description") or status.get("message") or data.get("reason"), 200)
    return [Event(kind, _str(data.get("recipient")), _str(_dict(data.get("envelope")).get("sender")),
                  _str(headers.get("message-id"), 500), _enhanced(status.get("enhanced-code")),
                  f"mailgun {event}: {words}".strip(), _str(data.get("id"), 100))]  # fmt: skip


# SendGrid -------------------------------------------------------------------------------------------

SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


def load_sendgrid_key(value: str) -> ec.EllipticCurvePublicKey:
    try:
        key = load_der_public_key(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error, TypeError):
        raise ValueError("not a base64 DER public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an EC public key")
    return key


def sendgrid(body: bytes, signature: str, timestamp: str, public_key: str, guard: ReplayGuard) -> list[Event]:
    if not signature or not timestamp:
        raise Unauthorized("unsigned")
    try:
        raw_signature = base64.b64decode(signature, validate=True)
        signed = timestamp.encode() + body
        load_sendgrid_key(public_key).verify(raw_signature, signed, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error):
        raise Unauthorized("bad signature") from None
    guard.check_time(_timestamp(timestamp))
    guard.once("sendgrid:" + signature)
    items = _json(body)
    events = []
    for item in items if isinstance(items, list) else []:
        item = _dict(item)
        name = _str(item.get("event")).lower()
        if name == "bounce":
            # type "blocked" is a refusal of this message (content, reputation), not of the address.
            kind = SOFT if _str(item.get("type")).lower() == "blocked" else HARD
        elif name == "spamreport":
            kind = COMPLAINT
        elif name == "deferred":
            kind = SOFT
        else:
            continue
        words = _str(item.get("reason") or item.get("response"), 200)
        events.append(Event(kind, _str(item.get("email")), "", _str(item.get("smtp-id"), 500),
                            _enhanced(item.get("status")), f"sendgrid {name}: {words}".strip(),
                            _str(item.get("sg_event_id"), 100)))  # fmt: skip
    return events


# Postmark -------------------------------------------------------------------------------------------


def postmark_auth(authorization: str, credentials: str) -> None:
    expected = "Basic " + base64.b64encode(credentials.encode()).decode()
    given = authorization.strip().encode("utf-8", "replace")
    if not hmac.compare_digest(given, expected.encode()):
        raise Unauthorized("wrong credentials")


def postmark(body: bytes) -> list[Event]:
    """The events of a Postmark bounce or spam complaint webhook (after ``postmark_auth``)."""
    item = _dict(_json(body))
    record, kind_name = _str(item.get("RecordType")), _str(item.get("Type"))
    if record == "SpamComplaint" or kind_name == "SpamComplaint":
        kind = COMPLAINT
    elif record == "Bounce" and kind_name in ("HardBounce", "BadEmailAddress"):
        kind = HARD
    elif record == "Bounce" and kind_name in ("SoftBounce", "Transient", "DnsError"):
        kind = SOFT
    else:
        return []
    # Postmark's MessageID is its own, not the Message-ID header we wrote: matched by address.
    words = _str(item.get("Description") or item.get("Details"), 200)
    return [Event(kind, _str(item.get("Email")), "", "", "", f"postmark {kind_name or record}: {words}",
                  _str(item.get("ID"), 100))]  # fmt: skip


# Amazon SES through SNS -----------------------------------------------------------------------------

_SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
_SIGNED_KEYS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn",
                                 "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn",
                                "Type"),
}  # fmt: skip


class CertificateCache:
    """SNS signing certificates by URL: fetched once through ``fetch`` (a function of the URL that
    returns PEM bytes; the network is needed only there, so tests give their own)."""

    def __init__(self, fetch: Callable[[str], bytes]) -> None:
        self.fetch = fetch
        self._certs: dict[str, x509.Certificate] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> x509.Certificate:
        with self._lock:
            cert = self._certs.get(url)
        if cert is None:
            try:
                cert = x509.load_pem_x509_certificate(self.fetch(url))
            except Exception:  # any failure to get a usable certificate is "cannot verify"
                raise Unauthorized("signing certificate unavailable") from None
            with self._lock:
                if len(self._certs) > 100:
                    self._certs.clear()
                self._certs[url] = cert
        return cert


def fetch_certificate(url: str) -> bytes:
    """The real fetcher: HTTPS only (the URL was checked to be an SNS host before)."""
    import urllib.request

    if not sns_cert_url_ok(url):
        raise ValueError("not an SNS certificate URL")
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read(65_536))


def sns_cert_url_ok(url: str) -> bool:
    parts = urlsplit(url)
    return (parts.scheme == "https" and bool(parts.hostname) and _SNS_HOST.fullmatch(parts.hostname or "")
            is not None and parts.port in (None, 443) and not parts.username)  # fmt: skip


@dataclass(frozen=True)
class SnsMessage:
    type: str
    topic_arn: str
    message: str
    subscribe_url: str


def sns(body: bytes, topics: tuple[str, ...], certs: CertificateCache, guard: ReplayGuard) -> SnsMessage:
    """A verified SNS message of one of ``topics``; Unauthorized otherwise."""
    item = _dict(_json(body))
    kind = item.get("Type")
    keys = _SIGNED_KEYS.get(kind) if isinstance(kind, str) else None
    url, version = item.get("SigningCertURL"), item.get("SignatureVersion")
    if keys is None or not isinstance(url, str) or not isinstance(item.get("Signature"), str):
        raise Unauthorized("unsigned")
    if not sns_cert_url_ok(url):
        raise Unauthorized("signing certificate not on an SNS host")
    if item.get("TopicArn") not in topics:
        raise Unauthorized("topic not configured")
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(str(version))
    if algorithm is None:
        raise Unauthorized("unknown signature version")
    if any(not isinstance(item.get(k), str) for k in keys if k != "Subject" or "Subject" in item):
        raise Unauthorized("malformed")
    text = "".join(f"{k}\n{item[k]}\n" for k in keys if k in item)
    key = certs.get(url).public_key()
    try:
        if not isinstance(key, rsa.RSAPublicKey):
            raise InvalidSignature
        key.verify(base64.b64decode(item["Signature"], validate=True), text.encode(), padding.PKCS1v15(),
                   algorithm)  # fmt: skip
    except (InvalidSignature, ValueError, binascii.Error):
        raise Unauthorized("bad signature") from None
    guard.check_time(_iso_time(item.get("Timestamp")))
    guard.once("sns:" + str(item.get("MessageId")))
    return SnsMessage(kind, item["TopicArn"], item["Message"], str(item.get("SubscribeURL") or ""))


def _iso_time(value: object) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise Unauthorized("no usable timestamp") from None


def ses_events(message: str) -> list[Event]:
    """The bounces and complaints of one SES notification (the SNS message's ``Message``)."""
    try:
        item = _dict(json.loads(message))
    except (ValueError, RecursionError):
        return []
    name = _str(item.get("notificationType") or item.get("eventType"))
    mail = _dict(item.get("mail"))
    sender = _str(mail.get("source"))
    # commonHeaders.messageId is SES's own id; our Message-ID is only in the headers, when included.
    message_id = ""
    for header in mail.get("headers") if isinstance(mail.get("headers"), list) else []:
        header = _dict(header)
        if _str(header.get("name")).lower() == "message-id":
            message_id = _str(header.get("value"), 500)
    events = []
    if name == "Bounce":
        bounce = _dict(item.get("bounce"))
        bounce_type = _str(bounce.get("bounceType"))
        kind = HARD if bounce_type == "Permanent" else SOFT
        for recipient in _list(bounce.get("bouncedRecipients")):
            events.append(Event(kind, _str(recipient.get("emailAddress")), sender, message_id,
                                _enhanced(recipient.get("status")),
                                f"ses {bounce_type}/{_str(bounce.get('bounceSubType'))}",
                                _str(bounce.get("feedbackId"), 100)))  # fmt: skip
    elif name == "Complaint":
        complaint = _dict(item.get("complaint"))
        for recipient in _list(complaint.get("complainedRecipients")):
            events.append(Event(COMPLAINT, _str(recipient.get("emailAddress")), sender, message_id, "",
                                f"ses complaint {_str(complaint.get('complaintFeedbackType'))}".strip(),
                                _str(complaint.get("feedbackId"), 100)))  # fmt: skip
    return events


def _list(value: object) -> Iterator[dict[str, Any]]:
    for item in value if isinstance(value, list) else []:
        yield _dict(item)


# The report each event stands for -------------------------------------------------------------------

_ENHANCED = re.compile(r"\b([245])\.([0-9]{1,3})\.([0-9]{1,3})\b")
_SAFE = re.compile(r"[^\x20-\x7e]")


def _enhanced(value: object) -> str:
    found = _ENHANCED.search(_str(value))
    return ".".join(found.groups()) if found else ""


def _clean(value: str) -> str:
    """One printable ASCII line: nothing a provider sends can add a header or a MIME part."""
    return _SAFE.sub("?", value)[:500]


def as_report(event: Event, bounce_address: str, provider: str) -> bytes:
    """The RFC 3464 DSN (bounces) or RFC 5965 feedback report (complaints) for ``event``."""
    recipient = _clean(parseaddr(event.email)[1] or event.email)
    # The VERP tag is read from the address the report is sent to, as for a bounce by mail.
    sender = _clean(parseaddr(event.envelope_sender)[1])
    to = sender or bounce_address or "bounces@invalid"
    message_id = _clean(event.message_id)
    if message_id and not message_id.startswith("<"):
        message_id = f"<{message_id}>"
    own_id = hashlib.sha256(f"{provider}:{event.event_id}:{event.kind}:{recipient}".encode()).hexdigest()[:32]
    detail = _clean(event.detail)
    boundary = "publisher-webhook-" + own_id
    original = [f"Return-Path: <{sender}>" if sender else "", f"To: <{recipient}>",
                f"Message-ID: {message_id}" if message_id else ""]  # fmt: skip
    if event.kind == COMPLAINT:
        report_type, report = "feedback-report", [
            "Content-Type: message/feedback-report", "", "Feedback-Type: abuse",
            f"User-Agent: {provider} webhook", "Version: 1", f"Original-Rcpt-To: {recipient}",
        ]  # fmt: skip
    else:
        status = event.status or ("5.0.0" if event.kind == HARD else "4.0.0")
        if event.kind == HARD and not status.startswith("5"):
            status = "5.0.0"
        if event.kind == SOFT and not status.startswith("4"):
            status = "4.0.0"
        action = "failed" if event.kind == HARD else "delayed"
        report_type, report = "delivery-status", [
            "Content-Type: message/delivery-status", "", f"Reporting-MTA: dns; {provider}.webhook", "",
            f"Final-Recipient: rfc822; {recipient}", f"Action: {action}", f"Status: {status}",
            f"Diagnostic-Code: x-{provider}; {detail}",
        ]  # fmt: skip
    lines = [
        f"From: {provider} webhook <mailer-daemon@webhook.invalid>", f"To: <{to}>",
        f"Subject: {provider} {event.kind}", f"Message-ID: <{own_id}@{provider}.webhook>",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type={report_type}; boundary="{boundary}"', "",
        f"--{boundary}", "Content-Type: text/plain; charset=us-ascii", "", detail or event.kind, "",
        f"--{boundary}", *report, "", f"--{boundary}", "Content-Type: text/rfc822-headers", "",
        *[line for line in original if line], "", f"--{boundary}--", "",
    ]  # fmt: skip
    return "\r\n".join(lines).encode("ascii")
