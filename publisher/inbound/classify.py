"""What one inbound message is, from its bytes alone: no database, no settings, no exceptions.

- RFC 3464 delivery status notifications (``multipart/report; report-type=delivery-status``): per
  recipient ``Final-Recipient``, ``Action`` and ``Status``; 5.x.x is a hard bounce, 4.x.x soft.
- RFC 5965 feedback reports (``report-type=feedback-report``): a complaint; the reader is found
  by the original's Return-Path (our VERP tag), its Message-ID, or ``Original-Rcpt-To``.
- RFC 3834 auto-replies (``Auto-Submitted`` other than ``no``, and the vacation headers in common
  use): recorded, never acted on.
- Mail to the List-Unsubscribe ``mailto:`` address: an unsubscribe by its sender.
- Bounces that follow no standard (older Exchange, qmail, Yahoo ...): flufl.bounce's detectors,
  only for mail that looks like it came from a mail server, since their heuristics match prose.

Anything else, and anything that cannot be read (truncated MIME, wrong charsets, junk), is
``unknown``: a result, never an exception.
"""

from __future__ import annotations

import email
import logging
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parseaddr
from enum import StrEnum

from flufl.bounce import all_failures

from publisher.inbound.verp import tag_in

# A detector that chokes is logged with its traceback; here it is only "no answer".
logging.getLogger("flufl.bounce").addHandler(logging.NullHandler())
logging.getLogger("flufl.bounce").propagate = False

# Reports put their status near the top; what follows is the returned original. Reading more than
# this of a 20 MB message would only cost memory.
MAX_BYTES = 1_000_000
_STATUS = re.compile(r"\b([245])\.([0-9]{1,3})\.([0-9]{1,3})\b")
_ADDRESS_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To", "Cc")
_SERVER = re.compile(r"mailer-daemon|postmaster|mail delivery|mail administrator", re.IGNORECASE)
_INLINE_MARKER = re.compile(r"^[ \t]*-+[ \t]*(original message follows|below this line is a copy of the "
                            r"message)[^\n]*$", re.IGNORECASE | re.MULTILINE)  # fmt: skip
_VACATION_SUBJECT = re.compile(r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|"
                               r"vacation|away from)", re.IGNORECASE)  # fmt: skip


class Kind(StrEnum):
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    AUTO_REPLY = "auto_reply"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Classified:
    kind: Kind
    recipients: tuple[str, ...] = ()  # addresses the report names as failed / complaining / leaving
    tag: str | None = None  # the VERP tag found (not yet verified)
    statuses: tuple[str, ...] = ()  # enhanced status codes, e.g. "5.1.1"
    message_id: str = ""  # the report's own Message-ID
    original_message_id: str = ""  # the Message-ID of the mail it is about, when it says
    detail: str = ""  # one line for the reader's history


def classify(raw: bytes, *, bounce_local: str = "bounces", unsubscribe_address: str = "") -> Classified:
    """``bounce_local``: local part of the bounce address (``bounces`` of ``bounces+tag@d``);
    ``unsubscribe_address``: the List-Unsubscribe mailto address (its local part, with or without
    a +tag, is matched)."""
    try:
        msg = email.message_from_bytes(raw[:MAX_BYTES])
        return _classify(msg, bounce_local, unsubscribe_address)
    except Exception as exc:  # any message at all must give a result
        return Classified(Kind.UNKNOWN, detail=f"unreadable: {type(exc).__name__}")


def _classify(msg: Message, bounce_local: str, unsubscribe_address: str) -> Classified:
    own_id = _header(msg, "Message-ID")
    tag = _find_tag(msg, bounce_local)
    ctype = msg.get_content_type()
    report_type = str(msg.get_param("report-type", "", header="content-type") or "").lower()
    if (ctype == "multipart/report" and report_type != "feedback-report") or _from_server(msg):
        original = _original(msg) or _inline_original(msg)
        if original is not None and _is_report(original):  # a loop: never acted on, kept for ops
            return Classified(Kind.UNKNOWN, (), tag, (), own_id, _header(original, "Message-ID"),
                              "report about a report (loop): nothing done")  # fmt: skip
    if ctype == "multipart/report" and report_type == "delivery-status":
        found = _dsn(msg, tag, own_id)
        if found is not None:
            return found
    arf = ctype == "multipart/report" and report_type == "feedback-report"
    if arf or _part(msg, "message/feedback-report") is not None:
        return _arf(msg, bounce_local, tag, own_id)
    if _from_server(msg) or ctype == "multipart/report":  # bounces say Auto-Submitted too
        found = _heuristic(msg, tag, own_id)
        if found.kind != Kind.UNKNOWN:
            return found
    if _is_auto_reply(msg):
        sender = parseaddr(_header(msg, "From"))[1]
        return Classified(Kind.AUTO_REPLY, (sender,) if sender else (), tag, (), own_id,
                          detail=f"auto-reply: {_header(msg, 'Subject')[:200]}")  # fmt: skip
    if unsubscribe_address and _addressed_to(msg, unsubscribe_address):
        sender = parseaddr(_header(msg, "From"))[1]
        unsub_local = unsubscribe_address.rpartition("@")[0]
        unsub_tag = next((t for a in _addresses(msg) if (t := tag_in(a, unsub_local))), None)
        return Classified(Kind.UNSUBSCRIBE, (sender,) if sender else (), unsub_tag, (), own_id,
                          detail="mailto unsubscribe")  # fmt: skip
    if tag is not None:
        return _heuristic(msg, tag, own_id)
    return Classified(Kind.UNKNOWN, (), tag, (), own_id, detail="not a report")


def _dsn(msg: Message, tag: str | None, own_id: str) -> Classified | None:
    part = _part(msg, "message/delivery-status")
    if part is None:
        return None
    hard: list[str] = []
    soft: list[str] = []
    statuses: list[str] = []
    for block in _status_blocks(part)[1:]:  # the first block is about the reporting server
        recipient = _recipient(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        action = _header(block, "Action").lower()
        found = _STATUS.search(_header(block, "Status"))
        status = ".".join(found.groups()) if found else ""
        if status:
            statuses.append(status)
        if action == "failed" and (status.startswith("5") or not status):
            hard.append(recipient)
        elif action == "delayed" or (action == "failed" and status.startswith("4")):
            soft.append(recipient)
    original = _header(_original(msg) or Message(), "Message-ID")
    if hard:
        return Classified(Kind.HARD_BOUNCE, _clean(hard), tag, tuple(statuses), own_id, original,
                          f"hard bounce {', '.join(statuses) or 'failed'}")  # fmt: skip
    if soft:
        return Classified(Kind.SOFT_BOUNCE, _clean(soft), tag, tuple(statuses), own_id, original,
                          f"soft bounce {', '.join(statuses) or 'delayed'}")  # fmt: skip
    if statuses:  # delivered, relayed, expanded: nothing failed
        return Classified(Kind.UNKNOWN, (), tag, tuple(statuses), own_id, original, "delivery report")
    return None  # a report without recipients: let the detectors look


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):  # the parser splits message/delivery-status into header blocks
        return [p for p in payload if isinstance(p, Message)]
    text = payload if isinstance(payload, str) else ""
    return [email.message_from_string(b) for b in re.split(r"\r?\n\s*\r?\n", text) if b.strip()]


def _arf(msg: Message, bounce_local: str, tag: str | None, own_id: str) -> Classified:
    report = _part(msg, "message/feedback-report")
    fields = _status_blocks(report)[0] if report is not None and _status_blocks(report) else Message()
    original = _original(msg) or Message()
    original_tag = tag_in(parseaddr(_header(original, "Return-Path"))[1], bounce_local)
    recipients = [_recipient(v) for v in fields.get_all("Original-Rcpt-To", [])]
    if not recipients:
        recipients = [a for _, a in getaddresses(original.get_all("To", []))]
    kind = _header(fields, "Feedback-Type").lower() or "abuse"
    return Classified(Kind.COMPLAINT, _clean(recipients), original_tag or tag, (), own_id,
                      _header(original, "Message-ID"), f"complaint ({kind[:40]})")  # fmt: skip


def _heuristic(msg: Message, tag: str | None, own_id: str) -> Classified:
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # a detector choking on odd input is "no answer"
        temporary, permanent = frozenset(), frozenset()
    original = _header(_original(msg) or Message(), "Message-ID")
    if permanent:
        return Classified(Kind.HARD_BOUNCE, _clean(_text(a) for a in permanent), tag, (), own_id, original,
                          "hard bounce (non-standard report)")  # fmt: skip
    if temporary:
        return Classified(Kind.SOFT_BOUNCE, _clean(_text(a) for a in temporary), tag, (), own_id, original,
                          "soft bounce (non-standard report)")  # fmt: skip
    return Classified(Kind.UNKNOWN, (), tag, (), own_id, original, "no failure found")


def _is_auto_reply(msg: Message) -> bool:
    submitted = _header(msg, "Auto-Submitted").lower()
    if submitted and submitted != "no":
        return True
    if any(msg.get(name) for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder")):
        return True
    if "auto_reply" in (_header(msg, "Precedence").lower(), _header(msg, "X-Precedence").lower()):
        return True
    return bool(_VACATION_SUBJECT.match(_header(msg, "Subject")))


def _is_report(msg: Message) -> bool:
    """A delivery report, or an auto-reply, as the returned original of another report. Not
    ``Auto-Submitted: auto-generated``: our own notices say that, and their bounces are real."""
    if msg.get_content_type() == "multipart/report" or _from_server(msg):
        return True
    return _header(msg, "Auto-Submitted").lower().startswith("auto-replied")


def _inline_original(msg: Message) -> Message | None:
    """The original a non-standard report quotes in its text after a marker line."""
    part = _part(msg, "text/plain")
    payload = part.get_payload(decode=True) if part is not None else None
    if not isinstance(payload, bytes):
        return None
    found = _INLINE_MARKER.search(payload.decode("utf-8", "replace"))
    if found is None:
        return None
    rest = payload.decode("utf-8", "replace")[found.end() :].lstrip("\r\n")
    return email.message_from_string(rest) if rest else None


def _addressed_to(msg: Message, address: str) -> bool:
    local, _, domain = address.lower().rpartition("@")
    for candidate in _addresses(msg):
        mailbox, _, their_domain = candidate.lower().rpartition("@")
        if their_domain == domain and mailbox.partition("+")[0] == local:
            return True
    return False


def _addresses(msg: Message) -> list[str]:
    values: list[str] = []
    for name in _ADDRESS_HEADERS:
        values.extend(str(v) for v in msg.get_all(name, []))
    return [a for _, a in getaddresses(values) if a]


def _find_tag(msg: Message, local: str) -> str | None:
    for address in _addresses(msg):
        if (tag := tag_in(address, local)) is not None:
            return tag
    return None


def _from_server(msg: Message) -> bool:
    sender = _header(msg, "From")
    return bool(_SERVER.search(sender)) or _header(msg, "Return-Path") == "<>"


def _part(msg: Message, ctype: str) -> Message | None:
    for part in msg.walk():
        if part.get_content_type() == ctype:
            return part
    return None


def _original(msg: Message) -> Message | None:
    """The returned original (whole, or its headers only)."""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0]
        if kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True) or b""
            return email.message_from_bytes(payload if isinstance(payload, bytes) else b"")
    return None


def _recipient(value: object) -> str:
    """``rfc822; a@b`` → ``a@b``."""
    text = _text(value).strip()
    if ";" in text:
        text = text.split(";", 1)[1]
    return parseaddr(text.strip())[1] or text.strip().strip("<>")


def _clean(addresses: object) -> tuple[str, ...]:
    out: list[str] = []
    for address in addresses:  # type: ignore[attr-defined]
        value = _text(address).strip().strip("<>").lower()
        if "@" in value and len(value) <= 320 and value not in out:
            out.append(value)
    return tuple(out)


def _header(msg: Message, name: str) -> str:
    value = msg.get(name)
    return " ".join(_text(value).split()) if value is not None else ""


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
