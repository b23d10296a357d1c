"""DKIM on rendered editions: the per-edition precomputed body hash and our header canonicalisation
give exactly what dkimpy computes, every message verifies with dkimpy, and the same reader and
edition always give the same bytes."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import dkim
import pytest
from dkim.canonicalization import Relaxed
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from publisher.edition import EditionSpec, Recipient, compile_edition, select_articles
from publisher.mail.dkim import DkimSigner, _PieceHash, _relaxed_header, relaxed_body
from publisher.mail.message import BodyLayout, Rendered, render_message, render_parts
from publisher.settings import Settings
from tests.edition_data import DAY, example_articles

SENT = datetime(2026, 11, 25, 7, 0, 3, tzinfo=UTC)
NOW = 1_795_000_000.0
READERS = [
    Recipient("maria@example.com", "Maria Santos", "https://news.example.com/u/1?a=1&b=2",
              "https://news.example.com/p/1"),
    Recipient("x@example.com", "  Zoë \t <b>Bold</b>   ", "https://news.example.com/u/2",
              "https://news.example.com/p/2"),
    Recipient("anon@example.com", "", "https://news.example.com/u/3", "https://news.example.com/p/3"),
    Recipient("long@example.com", "N" * 200 + " é" * 40, "https://news.example.com/u/" + "t" * 90,
              "https://news.example.com/p/4"),
]  # fmt: skip


@pytest.fixture(scope="module")
def settings(dkim_key: tuple[Path, bytes]) -> Settings:
    dkim = {"dkim_key_file": str(dkim_key[0]), "dkim_selector": "ed2026", "dkim_domain": "news.example.com"}
    return Settings(site_url="https://news.example.com", feedback_id="newslooks", **dkim)


def _verifies(signed: bytes, record: bytes) -> bool:
    dns = {b"ed2026._domainkey.news.example.com.": record}
    return bool(dkim.verify(signed, dnsfunc=lambda name, timeout=5: dns.get(name)))


def _compiled(settings: Settings):  # type: ignore[no-untyped-def]
    edition = select_articles(example_articles(), EditionSpec.from_settings(settings), DAY)
    return compile_edition(edition, settings)


def test_rendered_messages_sign_as_the_whole_message_and_verify(settings, dkim_key) -> None:
    signer = DkimSigner.from_settings(settings)
    assert signer is not None
    compiled = _compiled(settings)
    for n, reader in enumerate(READERS):
        rendered = render_parts(compiled, reader, settings, message_id=f"e1.{n}", date=SENT)
        message = rendered.message()
        assert message == render_message(compiled, reader, settings, message_id=f"e1.{n}", date=SENT)
        signed = signer.sign_rendered(rendered, now=NOW)
        # RSA PKCS#1 v1.5 is deterministic: the same bytes as hashing the whole body the slow way.
        assert signed == signer.sign(message, now=NOW)
        assert signed.endswith(message) and _verifies(signed, dkim_key[1])
        body = message.split(b"\r\n\r\n", 1)[1]
        bh = re.search(rb"bh=([^;]+);", signed).group(1)  # type: ignore[union-attr]
        assert base64.b64decode(bh) == hashlib.sha256(Relaxed.canonicalize_body(body)).digest()


def test_same_reader_and_edition_same_bytes(settings) -> None:
    """Two compiles (two worker processes) of one edition sign one reader's message identically."""
    signer = DkimSigner.from_settings(settings)
    assert signer is not None
    first, second = _compiled(settings), _compiled(settings)

    def signed(compiled, reader: Recipient) -> bytes:  # type: ignore[no-untyped-def]
        rendered = render_parts(compiled, reader, settings, message_id="e1.1", date=SENT)
        return signer.sign_rendered(rendered, now=NOW)

    for reader in READERS:
        assert signed(first, reader) == signed(second, reader) == signed(first, reader)


def test_layouts_that_are_not_whole_lines_fall_back(settings, dkim_key) -> None:
    signer = DkimSigner.from_settings(settings)
    assert signer is not None
    head = b"From: a@news.example.com\r\nTo: b@example.com\r\nSubject: x\r\n"
    for constants, personal in [
        ((b"one  \r\ntwo", b" three\r\n"), (b"mid \t x",)),  # a piece ends mid-line
        ((b"one\r\n", b"\r\n\r\n"), (b"x\r\n",)),  # the end is empty lines: stripped across pieces
        ((b"a \r\n", b"b\t\r\n"), (b"no line break",)),  # a personal piece mid-line
        ((b"a \r\n", b"end  \r\n"), (b"",)),
    ]:
        rendered = Rendered(head, BodyLayout(constants), personal)
        signed = signer.sign_rendered(rendered, now=NOW)
        assert signed == signer.sign(rendered.message(), now=NOW) and _verifies(signed, dkim_key[1])


_WSP_TEXT = st.text(alphabet=st.sampled_from(list("ab =.\t é\r\n")), max_size=60)


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(_WSP_TEXT, min_size=1, max_size=6), st.lists(_WSP_TEXT, max_size=6))
def test_piece_hash_is_the_relaxed_body_hash(lines: list[str], personal_lines: list[str]) -> None:
    def whole_lines(text: str) -> bytes:
        return (text.replace("\r", "").replace("\n", "\r\n") + "\r\n").encode("utf-8")

    constants = (*(whole_lines(t) for t in lines), b"--end--\r\n")
    personal = tuple(whole_lines(t) for t in personal_lines[: len(constants) - 1])
    personal += (b"",) * (len(constants) - 1 - len(personal))
    layout = BodyLayout(constants)
    body = Rendered(b"", layout, personal).body()
    assert _PieceHash.of(layout).digest(personal) == hashlib.sha256(relaxed_body(body)).digest()
    assert relaxed_body(body) == Relaxed.canonicalize_body(body)


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("SubjectTo-")), min_size=1, max_size=12),
    st.lists(st.text(alphabet=st.sampled_from(list("ab =<>\t é\r")), max_size=30), min_size=1, max_size=3),
)
def test_relaxed_header_is_dkimpys(name: str, lines: list[str]) -> None:
    raw_name = name.encode()
    value = "\r\n ".join(lines).encode("utf-8")
    [(expected_name, expected_value)] = Relaxed.canonicalize_headers([(raw_name, value)])
    assert _relaxed_header(raw_name, value) == expected_name + b":" + expected_value
