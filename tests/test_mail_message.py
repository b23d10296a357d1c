"""The MIME message of one reader, parsed back with the standard library's email parser."""

from __future__ import annotations

import binascii
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from publisher.edition import EditionSpec, Recipient, compile_edition, select_articles
from publisher.edition.compile import CompiledEdition
from publisher.errors import RenderError
from publisher.mail.message import qp_chunk, render_message
from publisher.settings import Settings
from tests.edition_data import DAY, example_articles

SENT = datetime(2026, 11, 25, 7, 0, 3, tzinfo=UTC)
MARIA = Recipient(
    email="maria.santos@example.com",
    name="Maria Santos",
    unsubscribe_url="https://news.example.com/unsubscribe/tok123?s=1&e=2",
    preferences_url="https://news.example.com/preferences/tok123",
)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(site_url="https://news.example.com", mail_from="Newslooks <editions@news.example.com>")


@pytest.fixture(scope="module")
def compiled(settings: Settings) -> CompiledEdition:
    edition = select_articles(example_articles(), EditionSpec.from_settings(settings), DAY)
    return compile_edition(edition, settings)


def parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_headers_exact(compiled: CompiledEdition, settings: Settings) -> None:
    raw = render_message(compiled, MARIA, settings, message_id="e-2026-11-25-42", date=SENT)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    boundary = parse(raw).get_boundary()
    assert head.split("\r\n") == [
        "From: Newslooks <editions@news.example.com>",
        "To: Maria Santos <maria.santos@example.com>",
        "Subject: Morning Edition: Port Cities Sign Ferry Safety Pact After Winter",
        " Collisions",
        "MIME-Version: 1.0",
        "List-Id: Newslooks Morning Edition <morning.news.example.com>",
        "Date: Wed, 25 Nov 2026 07:00:03 +0000",
        "Message-ID: <e-2026-11-25-42@news.example.com>",
        "List-Unsubscribe: <https://news.example.com/unsubscribe/tok123?s=1&e=2>,"
        " <mailto:unsubscribe@news.example.com?subject=unsubscribe>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    message = parse(raw)
    assert message["Subject"] == "Morning Edition: Port Cities Sign Ferry Safety Pact After Winter Collisions"


def test_crlf_only_and_short_lines(compiled: CompiledEdition, settings: Settings) -> None:
    raw = render_message(compiled, MARIA, settings, message_id="x1", date=SENT)
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r" not in raw.replace(b"\r\n", b"")
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    assert raw.endswith(b"--\r\n")


def test_parts_decode_to_the_filled_templates(compiled: CompiledEdition, settings: Settings) -> None:
    raw = render_message(compiled, MARIA, settings, message_id="x1", date=SENT)
    message = parse(raw)
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in parts)
    values = {
        "name": "Maria Santos",
        "email": "maria.santos@example.com",
        "unsubscribe_url": MARIA.unsubscribe_url,
        "preferences_url": MARIA.preferences_url,
    }
    text = parts[0].get_content().replace("\r\n", "\n")
    assert text == compiled.text.fill(values)
    html = parts[1].get_content().replace("\r\n", "\n")
    escaped = {**values, "unsubscribe_url": MARIA.unsubscribe_url.replace("&", "&amp;")}
    assert html == compiled.html.fill(escaped)
    assert 'href="https://news.example.com/unsubscribe/tok123?s=1&amp;e=2"' in html


def test_non_ascii_and_hostile_names(compiled: CompiledEdition, settings: Settings) -> None:
    hostile = Recipient(
        email="x@example.com",
        name="Zoë <b>Bold</b>\r\nBcc: victim@example.com",
        unsubscribe_url="https://news.example.com/u/1",
        preferences_url="https://news.example.com/p/1",
    )
    raw = render_message(compiled, hostile, settings, message_id="x2", date=SENT)
    message = parse(raw)
    assert message["Bcc"] is None
    assert message["To"].addresses[0].display_name == "Zoë <b>Bold</b> Bcc: victim@example.com"
    assert message["To"].addresses[0].addr_spec == "x@example.com"
    html = message.get_body(("html",)).get_content()
    assert "Good morning, Zoë &lt;b&gt;Bold&lt;/b&gt; Bcc: victim@example.com." in html
    text = message.get_body(("plain",)).get_content()
    assert "Good morning, Zoë <b>Bold</b> Bcc: victim@example.com." in text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "a@example.com\r\nBcc: b@example.com"),
        ("email", "not-an-address"),
        ("unsubscribe_url", "https://news.example.com/u/1>\r\nBcc: b@example.com"),
        ("unsubscribe_url", "https://news.example.com/u/1 x"),
        ("unsubscribe_mailto", "u@example.com>, <https://evil.example"),
    ],
)
def test_header_injection_is_refused(
    compiled: CompiledEdition, settings: Settings, field: str, value: str
) -> None:
    recipient = _with(MARIA, **{field: value})
    with pytest.raises(RenderError):
        render_message(compiled, recipient, settings, message_id="x3", date=SENT)


def _with(recipient: Recipient, **changes: str) -> Recipient:
    return replace(recipient, **changes)


def test_message_id_forms(compiled: CompiledEdition, settings: Settings) -> None:
    for form in ("abc@mail.example.org", "<abc@mail.example.org>"):
        raw = render_message(compiled, MARIA, settings, message_id=form, date=SENT)
        assert parse(raw)["Message-ID"] == "<abc@mail.example.org>"
    with pytest.raises(RenderError):
        render_message(compiled, MARIA, settings, message_id="a b", date=SENT)


def test_feedback_id_and_recipient_mailto(compiled: CompiledEdition, settings: Settings) -> None:
    custom = settings.replace(feedback_id="newslooks", list_id="morning.lists.example.com")
    recipient = _with(MARIA, unsubscribe_mailto="mailto:u+tok123@news.example.com")
    message = parse(render_message(compiled, recipient, custom, message_id="x4", date=SENT))
    assert message["Feedback-ID"] == "20261125:morning:edition:newslooks"
    assert message["List-Id"] == "Newslooks Morning Edition <morning.lists.example.com>"
    assert message["List-Unsubscribe"] == (
        "<https://news.example.com/unsubscribe/tok123?s=1&e=2>, <mailto:u+tok123@news.example.com>"
    )
    assert "Feedback-ID" not in parse(render_message(compiled, MARIA, settings, message_id="x", date=SENT))


def test_non_ascii_subject_is_encoded(settings: Settings) -> None:
    articles = example_articles()
    edition = select_articles(articles, EditionSpec.from_settings(settings), DAY, pinned=[articles[6]])
    compiled = compile_edition(edition, settings)
    raw = render_message(compiled, MARIA, settings, message_id="x5", date=SENT)
    assert raw.isascii()
    assert (
        parse(raw)["Subject"]
        == "Morning Edition: Amateur Astronomers Help Spot Faint Comet Near Jupiter’s Orbit"
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"short",
        b"x" * 76,
        b"x" * 75 + "é".encode(),
        "é".encode() * 40,
        b"trailing space ",
        b"line one\nline two \n" + b"y" * 200 + b"\n",
    ],
)
def test_qp_chunks_concatenate(data: bytes) -> None:
    chunk = qp_chunk(data)
    assert chunk == b"" or chunk.endswith(b"\r\n")
    assert all(len(line) <= 76 for line in chunk.split(b"\r\n"))
    joined = chunk + qp_chunk(b"|next") + qp_chunk(data)
    expected = data.replace(b"\n", b"\r\n") + b"|next" + data.replace(b"\n", b"\r\n")
    assert binascii.a2b_qp(joined) == expected


@settings_hypothesis(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet=st.sampled_from(list("ab =.\t\né€\r")), max_size=200), min_size=1, max_size=5)
)
def test_qp_chunks_concatenate_any_text(pieces: list[str]) -> None:
    encoded = b"".join(qp_chunk(p.encode("utf-8")) for p in pieces)
    assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))
    assert b"\n" not in encoded.replace(b"\r\n", b"")
    expected = "".join(p.replace("\r\n", "\n") for p in pieces).replace("\n", "\r\n")
    assert binascii.a2b_qp(encoded) == expected.encode("utf-8")


def test_article_text_cannot_inject_headers(settings: Settings) -> None:
    articles = example_articles()
    # Built directly, not through the parser (which already makes titles one line).
    articles[0] = replace(articles[0], title="Ferry pact\r\nBcc: victim@example.com\r\n\r\n<b>body</b>")
    compiled = compile_edition(select_articles(articles, EditionSpec.from_settings(settings), DAY), settings)
    raw = render_message(compiled, MARIA, settings, message_id="x6", date=SENT)
    message = parse(raw)
    assert message["Bcc"] is None
    assert message["Subject"] == "Morning Edition: Ferry pact Bcc: victim@example.com <b>body</b>"
    assert raw.split(b"\r\n\r\n", 1)[0].count(b"\r\nBcc") == 0


@settings_hypothesis(max_examples=60, deadline=None)
@given(name=st.text(alphabet=st.sampled_from(list("ab .\n\r=é")), max_size=40))
def test_the_stuffed_pieces_are_the_message_as_data_carries_it(
    compiled: CompiledEdition, settings: Settings, name: str
) -> None:
    """What the SMTP sender writes after DATA: every line of the message with a leading '.'
    doubled, then the line '.'; the constants are stuffed once per edition and cached."""
    from publisher.mail.message import render_parts

    rendered = render_parts(compiled, replace(MARIA, name=f".{name}"), settings, message_id="m1", date=SENT)
    message = rendered.message()
    lines = message.split(b"\r\n")
    assert lines[-1] == b""
    expected = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines[:-1])
    assert b"".join(rendered.stuffed()) == expected + b".\r\n"
    assert b"\r\n." in message  # the reader's name starts a line of the text part's QP
