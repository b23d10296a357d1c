"""The classifier on a corpus written from the RFCs' structure (tests/data/bounces/), and VERP tags."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from publisher.inbound.classify import Kind, classify
from publisher.inbound.verp import envelope_sender, make_tag, read_message_id, read_tag, tag_in, verp_address

CORPUS = Path(__file__).parent / "data" / "bounces"
UNSUB = "unsubscribe@news.example.com"
KEY = "k" * 32

EXPECTED = {
    "postfix_hard.eml": (Kind.HARD_BOUNCE, ("alice@example.org",), ("5.1.1",)),
    "postfix_soft.eml": (Kind.SOFT_BOUNCE, ("bob@example.net",), ("4.4.1",)),
    "gmail_hard.eml": (Kind.HARD_BOUNCE, ("erin@gmail.example",), ("5.1.1",)),
    "gmail_soft.eml": (Kind.SOFT_BOUNCE, ("frank@gmail.example",), ("4.2.2",)),
    "exim_hard.eml": (Kind.HARD_BOUNCE, ("grace@example.com",), ()),
    "qmail_hard.eml": (Kind.HARD_BOUNCE, ("heidi@example.info",), ()),
    "arf_complaint.eml": (Kind.COMPLAINT, ("carol@example.com",), ()),
    "auto_reply.eml": (Kind.AUTO_REPLY, ("ivan@example.com",), ()),
    "outlook_auto_reply.eml": (Kind.AUTO_REPLY, ("judy@example.com",), ()),
    "mailto_unsubscribe.eml": (Kind.UNSUBSCRIBE, ("dave@example.com",), ()),
    "sendmail_hard.eml": (Kind.HARD_BOUNCE, ("kim@example.org",), ("5.1.1",)),
    "outlook_hard.eml": (Kind.HARD_BOUNCE, ("mallory@example.net",), ("5.1.10",)),
    "yahoo_hard.eml": (Kind.HARD_BOUNCE, ("niaj@yahoo.example.net",), ()),
    "yahoo_complaint.eml": (Kind.COMPLAINT, ("olivia@yahoo.example.net",), ()),
    "outlook_complaint.eml": (Kind.COMPLAINT, (), ()),  # recipient redacted: only the VERP tag says who
    # Loops of reports about reports: never acted on (unknown mail is kept by `inbound serve`).
    "loop_dsn_of_dsn.eml": (Kind.UNKNOWN, (), ()),
    "loop_bounce_of_notice.eml": (Kind.UNKNOWN, (), ()),
    "loop_auto_reply_to_auto_reply.eml": (Kind.AUTO_REPLY, ("ivan@example.com",), ()),
    "junk.eml": (Kind.UNKNOWN, (), ()),
    "truncated.eml": (Kind.UNKNOWN, (), ()),
    "binary.eml": (Kind.UNKNOWN, (), ()),
}


def test_every_corpus_file_has_an_expectation() -> None:
    assert {p.name for p in CORPUS.glob("*.eml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_without_a_tag(name: str) -> None:
    kind, recipients, statuses = EXPECTED[name]
    result = classify((CORPUS / name).read_bytes(), unsubscribe_address=UNSUB)
    assert (result.kind, result.recipients, result.statuses) == (kind, recipients, statuses)
    assert result.tag is None


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - {"mailto_unsubscribe.eml"}))
def test_corpus_with_a_tag(name: str) -> None:
    tag = make_tag(KEY, 41)
    raw = f"Delivered-To: {verp_address('bounces@news.example.com', tag)}\n".encode()
    result = classify(raw + (CORPUS / name).read_bytes(), unsubscribe_address=UNSUB)
    assert result.kind == EXPECTED[name][0]
    assert result.tag == tag and read_tag(KEY, result.tag) == 41


def test_complaint_tag_from_the_originals_return_path() -> None:
    tag = make_tag(KEY, 44)
    raw = (
        (CORPUS / "arf_complaint.eml")
        .read_bytes()
        .replace(
            b"Return-Path: <bounces@news.example.com>\nFrom: Newslooks",
            f"Return-Path: <bounces+{tag}@news.example.com>\nFrom: Newslooks".encode(),
        )
    )
    result = classify(raw, unsubscribe_address=UNSUB)
    assert result.kind == Kind.COMPLAINT and result.tag == tag
    assert result.original_message_id == "<edition3.44.0123456789ab@news.example.com>"


@pytest.mark.parametrize("name", ["arf_complaint.eml", "yahoo_complaint.eml", "outlook_complaint.eml"])
def test_every_complaint_finds_the_tag_in_the_originals_return_path(name: str) -> None:
    tag = make_tag(KEY, 45)
    raw = (CORPUS / name).read_bytes()
    old = b"\nReturn-Path: <bounces@news.example.com>\n"
    assert raw.count(old) == 1
    result = classify(raw.replace(old, f"\nReturn-Path: <bounces+{tag}@news.example.com>\n".encode()))
    assert result.kind == Kind.COMPLAINT and read_tag(KEY, result.tag or "") == 45


def test_a_loop_names_no_one() -> None:
    result = classify((CORPUS / "loop_dsn_of_dsn.eml").read_bytes())
    assert result.detail.startswith("report about a report")
    assert result.original_message_id == "<20260105065900.BBBB2222@mx.news.example.com>"


def test_a_bounce_of_one_of_our_notices_is_still_a_bounce() -> None:
    # Confirmation mail says Auto-Submitted: auto-generated; its bounce is a real one.
    raw = (
        (CORPUS / "postfix_hard.eml")
        .read_bytes()
        .replace(
            b"Subject: Morning Edition\nMessage-ID",
            b"Subject: Confirm\nAuto-Submitted: auto-generated\nMessage-ID",
        )
    )
    assert classify(raw).kind == Kind.HARD_BOUNCE


def test_mailto_unsubscribe_with_its_own_tag() -> None:
    tag = make_tag(KEY, 7)
    raw = (
        (CORPUS / "mailto_unsubscribe.eml")
        .read_bytes()
        .replace(b"To: unsubscribe@", f"To: unsubscribe+{tag}@".encode())
    )
    result = classify(raw, unsubscribe_address=UNSUB)
    assert result.kind == Kind.UNSUBSCRIBE and read_tag(KEY, result.tag or "") == 7


def test_mail_to_other_addresses_is_not_an_unsubscribe() -> None:
    raw = (CORPUS / "mailto_unsubscribe.eml").read_bytes().replace(b"To: unsubscribe@", b"To: editor@")
    assert classify(raw, unsubscribe_address=UNSUB).kind == Kind.UNKNOWN


@pytest.mark.parametrize(
    "raw", [b"", b"\x00" * 100, b"\xff\xfe" * 5000, b"Content-Type: multipart/report\n\n--"]
)
def test_junk_is_a_result(raw: bytes) -> None:
    assert classify(raw).kind == Kind.UNKNOWN


def test_a_20_mb_message_is_a_result() -> None:
    head = (CORPUS / "postfix_hard.eml").read_bytes()
    result = classify(head + b"x" * 20_000_000)
    assert result.kind == Kind.HARD_BOUNCE


def test_tags_are_signed() -> None:
    tag = make_tag(KEY, 12)
    assert read_tag(KEY, tag) == 12
    assert read_tag(KEY, tag.upper()) == 12  # mail servers may change the case of local parts
    assert read_tag("another key" * 3, tag) is None
    assert read_tag(KEY, tag.replace("d12-", "d13-")) is None
    assert read_tag(KEY, "junk") is None
    assert tag_in(f"<Bounces+{tag}@news.example.com>", "bounces") == tag
    assert tag_in(f"other+{tag}@news.example.com", "bounces") is None


def test_envelope_sender_only_with_a_bounce_address() -> None:
    assert envelope_sender("", KEY, 5, "editions@news.example.com") == "editions@news.example.com"
    sender = envelope_sender("bounces@news.example.com", KEY, 5, "editions@news.example.com")
    assert sender.startswith("bounces+d5-") and sender.endswith("@news.example.com")


def test_our_message_ids_name_their_row() -> None:
    mac = hmac.new(KEY.encode(), b"3.41", hashlib.sha256).hexdigest()[:12]
    assert read_message_id(KEY, f"<edition3.41.{mac}@news.example.com>") == 41
    assert read_message_id(KEY, "<edition3.41.0123456789ab@news.example.com>") is None
